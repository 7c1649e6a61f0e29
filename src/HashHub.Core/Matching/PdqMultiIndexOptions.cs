namespace HashHub.Core.Matching;

/// <summary>Tuning for <see cref="PdqMultiIndex"/>; the defaults suit lists from a thousand to tens of millions of hashes.</summary>
public sealed class PdqMultiIndexOptions
{
    /// <summary>
    /// How many hashes the delta (the small index for incremental adds) holds before the writer folds it into
    /// the compact base. Null (the default) means max(16,384, base size / 64): large enough that compaction is
    /// rare, small enough that the preallocated delta adds under 2 % to memory (its query cost: see below).
    /// </summary>
    /// <remarks>
    /// Every compaction rebuilds the whole base, so a list that grows by adds alone pays for it on every add
    /// (about 8.7 us of CPU per add from empty to 1M). A delta of base / 16 halves that (4.5 us), but a delta's
    /// entries are dearer to query than the base's (linked buckets, no prefetch): at 1M, a full delta of base / 64
    /// makes a radius-31 query 12 % dearer than an empty one, a full delta of base / 16 36 % (measured with
    /// <c>HashHub.Benchmarks delta</c>). So the default stays.
    /// </remarks>
    public int? DeltaCapacity { get; init; }

    /// <summary>The delta's share of the base when <see cref="DeltaCapacity"/> is null (for the delta-size benchmark).</summary>
    internal int DeltaDivisor { get; init; } = 64;

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
