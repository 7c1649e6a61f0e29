namespace HashHub.Core.Matching;

/// <summary>Tuning for <see cref="PdqMultiIndex"/>; the defaults suit lists from a thousand to tens of millions of hashes.</summary>
public sealed class PdqMultiIndexOptions
{
    /// <summary>
    /// How many hashes the delta (the small index for incremental adds) holds before the writer folds it into
    /// the compact base. Null (the default) means max(16,384, base size / 64): large enough that compaction is
    /// rare, small enough that the preallocated delta adds under 2 % to memory and query time.
    /// </summary>
    public int? DeltaCapacity { get; init; }

    /// <summary>
    /// The fraction of removed entries (tombstones) in the base at which the writer compacts it. Default 1/8.
    /// </summary>
    public double MaxRemovedFraction { get; init; } = 0.125;

    /// <summary>
    /// How many times dearer one candidate of the multi-index probe is than one hash of the linear scan (random
    /// versus sequential memory access). The index scans linearly when the estimated probe cost exceeds the scan.
    /// Default 4.
    /// </summary>
    public double CandidateCostFactor { get; init; } = 4;

    /// <summary>
    /// When true (the default), the compaction triggered by a full delta or by many removals runs on a
    /// background task while writes continue; when false, the writer that triggers it builds the new base itself.
    /// </summary>
    public bool BackgroundCompaction { get; init; } = true;

    /// <summary>Test hook: never fall back to the linear scan, so that large radii exercise the probe path.</summary>
    internal bool DisableLinearFallback { get; init; }
}
