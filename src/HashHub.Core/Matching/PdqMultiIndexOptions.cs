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
    /// A list that grows by adds alone pays for its compactions on every add. Without the middle level (see
    /// <see cref="PdqMultiIndex"/>) each full delta rebuilt the whole base: 8.8-10.2 us of CPU per add from empty
    /// to 1M; with it 2.8-3.4 us, and about 2.1 since its builds reuse retired arrays. A delta's entries are dearer to query than the base's (linked buckets, no
    /// prefetch), and the middle level is one more table set to probe: at 1M a radius-31 query with a full delta
    /// costs about 12 % more than with both empty, and with a full middle level as well (its largest, just before
    /// the base is rebuilt) about 25 % more by the fastest runs, within the noise by the medians (measured with
    /// <c>HashHub.Benchmarks delta</c>). A delta of base / 16 instead of base / 64 would halve the adds' cost
    /// without the middle level but make queries 36 % dearer, so the default stays.
    /// </remarks>
    public int? DeltaCapacity { get; init; }

    /// <summary>The delta's share of the base when <see cref="DeltaCapacity"/> is null (for the delta-size benchmark).</summary>
    internal int DeltaDivisor { get; init; } = 64;

    /// <summary>
    /// The middle level's share of the base (see <see cref="PdqMultiIndex"/>): it holds up to
    /// max(<see cref="MinMidCapacity"/>, base / this) entries. 0 turns the middle level off (every full delta
    /// rebuilds the base), for the A/B of the delta benchmark.
    /// </summary>
    internal int MidDivisor { get; init; } = 8;

    /// <summary>The middle level's capacity while the base is small (tests make it small to reach base rebuilds).</summary>
    internal int MinMidCapacity { get; init; } = 65_536;

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
