namespace HashHub.Core.Matching;

/// <summary>
/// The PDQ match index: multi-index hashing over 16 chunks of 16 bits, answering Hamming-radius queries over
/// millions of hashes without a linear scan, with incremental adds and removes.
/// </summary>
/// <remarks>
/// <para>
/// Layout: a compact immutable base (flat bucket tables built by counting sort, about 96 bytes per hash) plus
/// a small append-only delta for adds, and tombstone bits for removes. When the delta is full, or too many base
/// entries are removed, the writer builds a new base from the live entries and publishes it; there is no
/// rebuild per change. <see cref="Compact"/> lets a host do that work from a background thread at a quiet time.
/// </para>
/// <para>
/// Queries: a hash within radius r agrees with the query closely on at least one chunk (pigeonhole; see
/// <see cref="MihLayout.PlanProbes"/>), so the index probes each query chunk's neighbours within that sub-radius
/// and checks the full distance of each candidate. For radius 31 that is 17 buckets per chunk. When the
/// estimated number of candidates makes the probe dearer than reading every hash (large radii on small lists),
/// it runs the SIMD linear scan instead.
/// </para>
/// <para>
/// Thread-safety (see <see cref="IPdqMatchIndex"/>): readers take no lock. They read one immutable snapshot
/// (base, delta) reference; the delta publishes its count after each add, tombstones are set with release
/// semantics, and a compaction publishes a whole new snapshot, so a reader never sees a torn entry. Writers
/// (add, remove, compact) serialise on one lock; the add that fills the delta pays for the compaction.
/// </para>
/// </remarks>
public sealed class PdqMultiIndex : IPdqMatchIndex
{
    private const int MinDeltaCapacity = 16_384;

    private readonly PdqMultiIndexOptions _options;
    private readonly Lock _writeLock = new();
    private volatile Snapshot _snapshot;
    private int _count;

    /// <summary>Creates an empty index.</summary>
    public PdqMultiIndex(PdqMultiIndexOptions? options = null)
    {
        _options = options ?? new PdqMultiIndexOptions();
        _snapshot = new Snapshot(MihBase.Empty, new MihDelta(DeltaCapacityFor(0)));
    }

    /// <inheritdoc />
    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes held by the index's arrays (base, delta, tombstones); the figure behind the memory target.</summary>
    public long ApproximateBytes
    {
        get
        {
            var s = _snapshot;
            return s.Base.Bytes + s.Delta.Bytes;
        }
    }

    /// <summary>Entries waiting in the delta, for monitoring.</summary>
    public int DeltaCount => Volatile.Read(ref _snapshot.Delta.Count);

    /// <summary>Builds an index over a bulk list in one pass (no delta), as a node does at start-up.</summary>
    public static PdqMultiIndex Build(ReadOnlySpan<int> ids, ReadOnlySpan<Hash256> hashes, PdqMultiIndexOptions? options = null)
    {
        var index = new PdqMultiIndex(options);
        index.AddRange(ids, hashes);
        return index;
    }

    /// <inheritdoc />
    public void Add(int id, in Hash256 hash)
    {
        lock (_writeLock)
        {
            var delta = _snapshot.Delta;
            if (delta.Count == delta.Capacity)
            {
                CompactLocked(default, default);
                delta = _snapshot.Delta;
            }
            delta.Add(id, hash);
            Volatile.Write(ref _count, _count + 1);
        }
    }

    /// <summary>
    /// Adds many entries. When they do not fit in the delta, they go straight into a new base with the
    /// current entries (one compaction instead of many).
    /// </summary>
    public void AddRange(ReadOnlySpan<int> ids, ReadOnlySpan<Hash256> hashes)
    {
        if (ids.Length != hashes.Length)
        {
            throw new ArgumentException("ids and hashes must have the same length.", nameof(ids));
        }
        lock (_writeLock)
        {
            var delta = _snapshot.Delta;
            if (delta.Count + hashes.Length <= delta.Capacity)
            {
                for (var i = 0; i < hashes.Length; i++)
                {
                    delta.Add(ids[i], hashes[i]);
                }
            }
            else
            {
                CompactLocked(ids, hashes);
            }
            Volatile.Write(ref _count, _count + hashes.Length);
        }
    }

    /// <inheritdoc />
    public bool Remove(int id, in Hash256 hash)
    {
        lock (_writeLock)
        {
            var s = _snapshot;
            if (!s.Delta.Remove(id, hash) && !s.Base.Remove(id, hash))
            {
                return false;
            }
            Volatile.Write(ref _count, _count - 1);
            if (s.Base.Removed > Math.Max(1024, s.Base.Count * _options.MaxRemovedFraction))
            {
                CompactLocked(default, default);
            }
            return true;
        }
    }

    /// <summary>
    /// Folds the delta and the tombstones into a new compact base. Queries keep running on the old snapshot
    /// meanwhile; other writers wait. Call it from a background thread to keep that cost off the write path.
    /// </summary>
    public void Compact()
    {
        lock (_writeLock)
        {
            CompactLocked(default, default);
        }
    }

    /// <inheritdoc />
    public void Query(in Hash256 query, int radius, List<PdqMatch> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentOutOfRangeException.ThrowIfNegative(radius);
        var s = _snapshot;
        Span<int> sub = stackalloc int[MihLayout.Chunks];
        MihLayout.PlanProbes(Math.Min(radius, 256), sub);
        if (!_options.DisableLinearFallback && LinearIsCheaper(s, sub))
        {
            HammingScan.Scan(s.Base.Hashes, s.Base.Ids, s.Base.Tombstones, query, radius, results);
            var n = Volatile.Read(ref s.Delta.Count);
            HammingScan.Scan(s.Delta.Hashes.AsSpan(0, n), s.Delta.Ids.AsSpan(0, n), s.Delta.Tombstones, query, radius, results);
            return;
        }
        s.Base.Query(query, radius, sub, results);
        s.Delta.Query(query, radius, sub, results);
    }

    // Expected probe work: every probed bucket costs a lookup, every candidate a random read of 32 bytes,
    // against a sequential read of every hash for the scan. Bucket sizes are taken as uniform; clustered lists
    // have larger buckets near their centres, which only makes the estimate optimistic for those queries.
    private bool LinearIsCheaper(Snapshot s, ReadOnlySpan<int> sub)
    {
        long probes = 0;
        foreach (var r in sub)
        {
            if (r >= 0)
            {
                probes += MihLayout.MaskCount[r];
            }
        }
        double n = s.Base.Count + Volatile.Read(ref s.Delta.Count);
        var candidates = probes * n / MihLayout.Buckets;
        return probes + (_options.CandidateCostFactor * candidates) > n;
    }

    private void CompactLocked(ReadOnlySpan<int> extraIds, ReadOnlySpan<Hash256> extraHashes)
    {
        var old = _snapshot;
        var deltaCount = old.Delta.Count;
        var live = (old.Base.Count - old.Base.Removed) + (deltaCount - old.Delta.Removed) + extraHashes.Length;
        var newBase = MihBase.Build(
            new MihBase.Source(old.Base.Hashes, old.Base.Ids, old.Base.Tombstones),
            new MihBase.Source(old.Delta.Hashes.AsSpan(0, deltaCount), old.Delta.Ids.AsSpan(0, deltaCount), old.Delta.Tombstones),
            new MihBase.Source(extraHashes, extraIds, null),
            live);
        _snapshot = new Snapshot(newBase, new MihDelta(DeltaCapacityFor(live)));
    }

    private int DeltaCapacityFor(int baseCount) =>
        _options.DeltaCapacity is { } fixedCapacity
            ? Math.Max(1, fixedCapacity)
            : Math.Max(MinDeltaCapacity, baseCount / 64);

    private sealed class Snapshot(MihBase @base, MihDelta delta)
    {
        public MihBase Base { get; } = @base;

        public MihDelta Delta { get; } = delta;
    }
}
