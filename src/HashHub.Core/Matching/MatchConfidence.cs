using HashHub.Core.Signals;

namespace HashHub.Core.Matching;

/// <summary>
/// How much a member should trust a match, from 0 to 1, computed the same way by the hub (hub-side match) and
/// the SDK (local match) so that a member's policy reads the same number either way.
/// </summary>
/// <remarks>
/// Confidence is closeness times corroboration. Closeness is 1 for an exact match and falls linearly with the
/// type's distance, reaching 0 at twice the type's default threshold plus one (for PDQ, 1 - distance/64: 0.52
/// at the default threshold of 31).
/// Corroboration is 1 - 0.5^n for n distinct members standing behind the signal: one member's takedown gives
/// 0.5, two agreeing members 0.75, three 0.875. Members then map confidence and labels to their own action.
/// </remarks>
public static class MatchConfidence
{
    /// <summary>The confidence of a match at <paramref name="distance"/> on a signal held by <paramref name="members"/> distinct members.</summary>
    public static double Compute(SignalType type, int distance, int members)
    {
        ArgumentNullException.ThrowIfNull(type);
        ArgumentOutOfRangeException.ThrowIfNegative(distance);
        if (members <= 0)
        {
            return 0;
        }
        var closeness = distance == 0 ? 1.0 : Math.Max(0.0, 1.0 - (double)distance / (2.0 * (type.DefaultMatchThreshold + 1)));
        var corroboration = 1.0 - Math.Pow(0.5, members);
        return Math.Round(closeness * corroboration, 4);
    }
}
