namespace HashHub.Server.Storage;

/// <summary>Lifecycle of a member organisation (vetting and suspension come with the consortium features).</summary>
public enum MemberStatus
{
    Applicant = 0,
    Active = 1,
    Suspended = 2,
    Revoked = 3,
}

/// <summary>A member organisation of the consortium.</summary>
public sealed class Member
{
    public required string Id { get; init; }
    public required string Name { get; set; }
    public MemberStatus Status { get; set; }
    public bool IsAdmin { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>A member on probation has its contributions held for review (see <see cref="HubOptions.Probation"/>).</summary>
    public bool OnProbation { get; set; }
    /// <summary>
    /// Bumped whenever what this member may see changes without a change in the log (its sharing groups): sync
    /// cursors carry it, and an older one answers "resync required".
    /// </summary>
    public int VisibilityEpoch { get; set; }
}

/// <summary>
/// One machine credential of a member: the OAuth2 client id OpenIddict knows, tied to the member it acts for.
/// The secret lives (hashed) in OpenIddict's application table, never here.
/// </summary>
public sealed class MemberClient
{
    public required string ClientId { get; init; }
    public required string MemberId { get; init; }
    public Member? Member { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>Whether a signal is live for matching.</summary>
public enum SignalStatus
{
    Active = 1,
    Retracted = 2,
}

/// <summary>One hash of one piece of content: unique by (type, value).</summary>
public sealed class SignalEntity
{
    public long Id { get; set; }
    public required string Type { get; init; }
    public required string Value { get; init; }
    public int? Quality { get; set; }
    public SignalStatus Status { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>Filled by the readers that need them (not a mapped navigation: see SignalConfiguration).</summary>
    public List<ContributionEntity> Contributions { get; init; } = [];
}

public enum ContributionStatus
{
    Active = 1,
    Retracted = 2,
}

/// <summary>Who besides its own member (and the admins, who see everything) may see a contribution.</summary>
public enum ContributionVisibility
{
    /// <summary>Every member: the common case, which the sync query tests first.</summary>
    AllMembers = 0,
    /// <summary>Members of its sharing groups (<see cref="ContributionGroup"/>).</summary>
    Groups = 1,
    /// <summary>Held while its member is on probation: nobody else until an admin (or a confirmation) releases it.</summary>
    Held = 2,
    /// <summary>A held contribution an admin rejected: retracted, and never shown to anybody else.</summary>
    Rejected = 3,
}

/// <summary>A member's statement about a signal. Never deleted: a retraction is kept as evidence.</summary>
public sealed class ContributionEntity
{
    public long Id { get; set; }
    public long SignalId { get; set; }

    /// <summary>Filled by the readers that need it (not a mapped navigation: see SignalConfiguration).</summary>
    public SignalEntity? Signal { get; set; }
    public required string MemberId { get; init; }
    public ContributionStatus Status { get; set; }
    /// <summary>Label keys, sorted; stored as one delimited column (keys cannot contain the delimiter).</summary>
    public string[] Labels { get; set; } = [];
    public int SourceKind { get; set; }
    public string? IncidentId { get; set; }
    public string? CaseReference { get; set; }
    public string? Note { get; set; }
    public int? Quality { get; set; }
    public DateTimeOffset ContributedAt { get; init; }
    public DateTimeOffset UpdatedAt { get; set; }
    public DateTimeOffset? RetractedAt { get; set; }
    public string? RetractReason { get; set; }
    /// <summary>Defaults to every member in the database too, so bulk inserts that omit the column share with all.</summary>
    public ContributionVisibility Visibility { get; set; }
    /// <summary>Not stored here (see <see cref="ContributionGroup"/>): filled by readers that show the sharing scope.</summary>
    public string[] SharingGroupIds { get; set; } = [];
}

/// <summary>A named sharing group (like ThreatExchange's privacy groups): contributions scoped to it reach its members only.</summary>
public sealed class SharingGroupEntity
{
    public required string Id { get; init; }
    public required string Name { get; set; }
    public string Description { get; set; } = string.Empty;
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>A member's membership of a sharing group.</summary>
public sealed class SharingGroupMember
{
    public required string GroupId { get; init; }
    public required string MemberId { get; init; }
    public DateTimeOffset AddedAt { get; init; }
}

/// <summary>One sharing group a contribution is scoped to (only for contributions with <see cref="ContributionVisibility.Groups"/>, or held ones that will be).</summary>
public sealed class ContributionGroup
{
    public long ContributionId { get; init; }
    public required string GroupId { get; init; }
}

public enum LabelCategory
{
    ContentType = 1,
    Behavior = 2,
    Entity = 3,
    Incident = 4,
}

/// <summary>A label of the taxonomy the admins keep.</summary>
public sealed class LabelEntity
{
    public required string Key { get; init; }
    public LabelCategory Category { get; init; }
    public required string DisplayName { get; set; }
    public string Description { get; set; } = string.Empty;
    public bool Deprecated { get; set; }
    public DateTimeOffset CreatedAt { get; init; }
}

public enum ChangeKind
{
    Created = 1,
    Updated = 2,
    Retracted = 3,
}

/// <summary>
/// One entry of the ordered change log. <see cref="Seq"/> is the cursor position; appends are serialised so
/// that sequence order is commit order (see <see cref="HashHub.Server.Sync.ChangeLog"/>).
/// </summary>
public sealed class ChangeEntity
{
    public long Seq { get; init; }
    public long SignalId { get; init; }
    public required string SignalType { get; init; }
    public ChangeKind Kind { get; init; }
    public DateTimeOffset CommittedAt { get; init; }
}

/// <summary>The first answer to a batch, kept so that a retry with the same key replays it.</summary>
public sealed class IdempotencyRecord
{
    public required string MemberId { get; init; }
    public required string Key { get; init; }
    public required byte[] RequestHash { get; init; }
    public required byte[] Response { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
}

/// <summary>Small facts about this database, such as the change log's epoch.</summary>
public sealed class HubSetting
{
    public required string Key { get; init; }
    public required string Value { get; set; }
}

/// <summary>
/// One entry of the append-only, hash-chained audit log: <see cref="Hash"/> is SHA-256 over the previous entry's
/// hash and this entry's fields, so changing, removing or reordering any stored entry breaks the chain from there.
/// </summary>
public sealed class AuditEntryEntity
{
    public long Seq { get; init; }
    public DateTimeOffset At { get; init; }
    /// <summary>The member that acted, or "operator" for a server command run on the hub's machine.</summary>
    public required string ActorId { get; init; }
    /// <summary>The OAuth2 client it acted through (empty for server commands).</summary>
    public required string ClientId { get; init; }
    public required string Action { get; init; }
    public required string Target { get; init; }
    /// <summary>Compact JSON with the facts of the action.</summary>
    public required string Details { get; init; }
    public required byte[] PreviousHash { get; init; }
    public required byte[] Hash { get; init; }
}

public enum ApplicationStatus
{
    Pending = 1,
    Approved = 2,
    Rejected = 3,
}

/// <summary>An organisation's application to join, with its answers to the membership criteria.</summary>
public sealed class MembershipApplicationEntity
{
    public required string Id { get; init; }
    public required string OrganisationName { get; init; }
    public required string Website { get; init; }
    public required string ContactEmail { get; init; }
    public string Description { get; init; } = string.Empty;
    public bool TermsProhibitTvec { get; init; }
    public string TermsUrl { get; init; } = string.Empty;
    public bool UserReportingAndAppeal { get; init; }
    public string ReportingDescription { get; init; } = string.Empty;
    public string TransparencyReportUrl { get; init; } = string.Empty;
    public bool HumanRightsCommitment { get; init; }
    public ApplicationStatus Status { get; set; }
    public DateTimeOffset SubmittedAt { get; init; }
    public DateTimeOffset? DecidedAt { get; set; }
    public string? DecidedBy { get; set; }
    public string? Notes { get; set; }
    public string? RejectionReason { get; set; }
    public string? MemberId { get; set; }
}

/// <summary>
/// A client assertion (private_key_jwt) already used: its jti is kept until the assertion expires, so the same
/// assertion cannot be replayed at the token endpoint (RFC 7523 section 3, item 7).
/// </summary>
public sealed class UsedClientAssertion
{
    public required string ClientId { get; init; }
    public required string Jti { get; init; }
    public DateTimeOffset ExpiresAt { get; init; }
}

/// <summary>What a member did about a match (the wire enum's values).</summary>
public enum MatchOutcome
{
    Matched = 1,
    Actioned = 2,
    FalsePositive = 3,
}

/// <summary>
/// One match outcome a member reported, for the consortium's transparency figures. Unique by (member, batch key,
/// position in the batch), which makes a retried report record nothing twice.
/// </summary>
public sealed class MatchOutcomeEntity
{
    public long Id { get; set; }
    public required string MemberId { get; init; }
    public required string BatchKey { get; init; }
    public int Ordinal { get; init; }
    public long SignalId { get; init; }
    public MatchOutcome Outcome { get; init; }
    public int Count { get; init; }
    public DateTimeOffset ObservedAt { get; init; }
    public DateTimeOffset ReportedAt { get; init; }
}
