namespace HashHub.Client.Matching;

/// <summary>
/// The member's own rule from a match to an action. Every member decides for itself: the hub shares signals, it never
/// blocks anything on a member's platform.
/// </summary>
/// <remarks>
/// For each match: a label listed in <see cref="LabelActions"/> sets the action (the strongest such label wins);
/// otherwise confidence at or over <see cref="BlockConfidence"/> blocks, at or over <see cref="ReviewConfidence"/> sends
/// to review, and anything lower is allowed. The upload's action is the strongest over its matches.
/// </remarks>
/// <example>
/// <code>
/// var policy = new MatchPolicy
/// {
///     BlockConfidence = 0.7,
///     LabelActions = new Dictionary&lt;string, MatchAction&gt; { ["behavior:imminent_threat"] = MatchAction.Block },
/// };
/// </code>
/// </example>
public sealed class MatchPolicy
{
    /// <summary>
    /// The default: block at confidence 0.4 (one member in good standing and an exact match or a PDQ match at distance 12
    /// or less; or two agreeing members up to distance 29), review anything else that matched.
    /// </summary>
    public static MatchPolicy Default { get; } = new();

    /// <summary>Confidence at which a match blocks (default 0.4).</summary>
    public double BlockConfidence { get; init; } = 0.4;

    /// <summary>Confidence at which a match goes to review (default 0: every match is at least reviewed).</summary>
    public double ReviewConfidence { get; init; }

    /// <summary>Labels that decide the action whatever the confidence, for example an imminent threat always blocks, or a label the member does not act on allows.</summary>
    public IReadOnlyDictionary<string, MatchAction> LabelActions { get; init; } = new Dictionary<string, MatchAction>();

    /// <summary>The action for one match.</summary>
    public MatchAction Decide(IReadOnlyCollection<string> labels, double confidence)
    {
        ArgumentNullException.ThrowIfNull(labels);
        MatchAction? byLabel = null;
        foreach (var label in labels)
        {
            if (LabelActions.TryGetValue(label, out var action) && (byLabel is null || action > byLabel))
            {
                byLabel = action;
            }
        }
        if (byLabel is { } decided)
        {
            return decided;
        }
        return confidence >= BlockConfidence ? MatchAction.Block
            : confidence >= ReviewConfidence ? MatchAction.Review
            : MatchAction.Allow;
    }
}
