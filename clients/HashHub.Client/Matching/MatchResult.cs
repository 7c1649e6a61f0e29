namespace HashHub.Client.Matching;

/// <summary>What the member's policy says to do with an upload.</summary>
public enum MatchAction
{
    /// <summary>No match, or only matches the policy lets through.</summary>
    Allow = 0,

    /// <summary>Send to human review.</summary>
    Review = 1,

    /// <summary>Block the upload.</summary>
    Block = 2,
}

/// <summary>The state of a matched signal.</summary>
public enum MatchStatus
{
    /// <summary>At least one member in good standing vouches for the signal.</summary>
    Active = 0,

    /// <summary>
    /// The signal is active, but every member that contributed it is now suspended or revoked: its confidence is 0
    /// and members usually send such matches to review rather than block.
    /// </summary>
    ContributorsSuspended = 1,
}

/// <summary>One member's active contribution to a matched signal.</summary>
/// <param name="MemberId">The contributing member's hub id.</param>
/// <param name="MemberName">Its display name.</param>
/// <param name="Labels">The labels this member gave.</param>
/// <param name="InGoodStanding">False when the member is now suspended or revoked.</param>
/// <param name="ContributedAt">When the hub accepted the contribution.</param>
public sealed record Contributor(string MemberId, string MemberName, IReadOnlyList<string> Labels, bool InGoodStanding, DateTimeOffset ContributedAt);

/// <summary>One signal of the hub's list that an upload matched.</summary>
/// <param name="SignalId">The hub's id of the signal.</param>
/// <param name="SignalType">Its type: <c>pdq</c>, <c>md5</c>, <c>sha256</c> or <c>url</c>.</param>
/// <param name="Value">Its value (hex digest or normalised URL).</param>
/// <param name="Distance">The distance to the upload's hash: Hamming distance for PDQ (the smallest over the eight rotations and flips), 0 for exact types.</param>
/// <param name="Labels">The union of the labels of the active contributions.</param>
/// <param name="Contributors">The members whose active contributions hold the signal.</param>
/// <param name="Confidence">
/// 0-1: closeness x corroboration, the formula the hub's own Match uses (<see cref="Core.Matching.MatchConfidence"/>).
/// Closeness is 1 for an exact match and 1 - distance / 64 for PDQ (0.52 at the default radius of 31); corroboration is
/// 1 - 0.5^n for n distinct members in good standing with an active contribution (one member 0.5, two 0.75, three
/// 0.875): several platforms taking down the same content independently is the strongest evidence there is.
/// </param>
/// <param name="Status">Whether members in good standing vouch for it.</param>
/// <param name="Action">What the member's policy says for this match alone.</param>
public sealed record HubMatch(
    string SignalId,
    string SignalType,
    string Value,
    int Distance,
    IReadOnlyList<string> Labels,
    IReadOnlyList<Contributor> Contributors,
    double Confidence,
    MatchStatus Status,
    MatchAction Action);

/// <summary>The hashes computed locally from an upload (the content itself never leaves the member).</summary>
/// <param name="Pdq">The PDQ hash (64 hex digits), or null when the content is not a decodable image.</param>
/// <param name="PdqQuality">PDQ's quality metric, 0-100 (0 without a PDQ hash).</param>
/// <param name="Md5">MD5 of the bytes, 32 hex digits.</param>
/// <param name="Sha256">SHA-256 of the bytes, 64 hex digits.</param>
public sealed record ContentHashes(string? Pdq, int PdqQuality, string Md5, string Sha256);

/// <summary>The outcome of matching one upload.</summary>
/// <param name="Hashes">What was computed locally and matched.</param>
/// <param name="Matches">Every matched signal, strongest action and confidence first.</param>
/// <param name="Action">The strongest action among the matches (<see cref="MatchAction.Allow"/> when none).</param>
public sealed record MatchResult(ContentHashes Hashes, IReadOnlyList<HubMatch> Matches, MatchAction Action)
{
    /// <summary>True when anything matched.</summary>
    public bool IsMatch => Matches.Count > 0;
}

/// <summary>What a member did about a match, reported to the hub for the consortium's transparency figures.</summary>
public enum MatchOutcome
{
    /// <summary>The member's content matched the signal.</summary>
    Matched = 1,

    /// <summary>The member acted on the matching content (removed it, blocked the upload).</summary>
    Actioned = 2,

    /// <summary>On review, the content was not what the signal's labels say.</summary>
    FalsePositive = 3,
}
