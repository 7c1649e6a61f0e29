namespace HashHub.Client.Contributing;

/// <summary>How the member came across the content it took down.</summary>
public enum ContributionSource
{
    /// <summary>Uploaded to the member's platform.</summary>
    Upload = 1,

    /// <summary>A livestream, or a recording of one.</summary>
    Livestream = 2,

    /// <summary>Reported by a user.</summary>
    UserReport = 3,

    /// <summary>Referred by a third party: law enforcement, a trusted flagger, an NGO.</summary>
    Referral = 4,

    /// <summary>Found by the member's own proactive detection.</summary>
    Proactive = 5,
}

/// <summary>The provenance a member gives with a contribution. The hub adds who and when from the credentials and its clock.</summary>
/// <param name="Source">How the member came across the content.</param>
/// <param name="IncidentId">Optional crisis incident declared by the consortium's admins.</param>
/// <param name="CaseReference">Optional: the member's own case reference for the evidence it preserved (at most 200 characters).</param>
/// <param name="Note">Optional free-text note for other members (at most 2,000 characters).</param>
public sealed record ContributionProvenance(
    ContributionSource Source = ContributionSource.Upload,
    string? IncidentId = null,
    string? CaseReference = null,
    string? Note = null);

/// <summary>One signal recorded by a contribution.</summary>
/// <param name="SignalType">The signal's type: <c>pdq</c>, <c>md5</c> or <c>sha256</c>.</param>
/// <param name="Value">The hash.</param>
/// <param name="SignalId">The hub's id of the signal.</param>
/// <param name="ContributionId">The id of the member's contribution to it: pass it to retract or relabel.</param>
/// <param name="SignalCreated">True when this contribution created the signal; false when another member (or an earlier contribution) had shared it.</param>
/// <param name="Held">
/// True when the member is on probation and the hub holds the contribution for review: stored, but other members see it
/// only once an admin (or another member's contribution of the same signal) releases it.
/// </param>
public sealed record ContributedSignal(string SignalType, string Value, string SignalId, string ContributionId, bool SignalCreated, bool Held);

/// <summary>The hub's acknowledgement of a contribution: from here on it is durable and reaches every member's sync.</summary>
/// <param name="IdempotencyKey">The key the batch was sent with (resending it changes nothing).</param>
/// <param name="Signals">One entry per hash shared.</param>
/// <param name="Replayed">True when the hub had already recorded this batch (a retry).</param>
/// <param name="Hashes">The hashes computed locally.</param>
public sealed record ContributionReceipt(string IdempotencyKey, IReadOnlyList<ContributedSignal> Signals, bool Replayed, Matching.ContentHashes Hashes);
