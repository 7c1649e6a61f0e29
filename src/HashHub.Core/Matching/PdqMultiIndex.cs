namespace HashHub.Core.Matching;

/// <summary>
/// The PDQ match index: multi-index hashing over 16 chunks of 16 bits, answering Hamming-radius queries over
/// millions of hashes without a linear scan, with incremental adds and removes.
/// </summary>
/// <remarks>
/// <para>
/// Layout: a compact immutable base (flat bucket tables built by counting sort, about 96 bytes per hash), a
/// middle level of the same form for recent adds (up to an eighth of the base), a small append-only delta for
/// adds, and tombstone bits for removes; there is no rebuild per change. When the delta is full, the writer
/// freezes it, starts a fresh one and builds, from the live entries, a new middle level (the middle level and
/// the frozen delta) or, once the middle level would outgrow its share or too many base entries are removed, a
/// new base (base, middle level and frozen delta), on a background task (by default), so adds and removes go on
/// meanwhile; removes made during the build are replayed on what it built before that is published. A writer
/// waits only if the fresh delta fills up before the build is done.
/// </para>
/// <para>
/// Why a middle level: a list that grows by adds alone would otherwise rebuild its whole base each time the delta
/// fills, about 64 times over for every hash on the way to a million (9-10 us of CPU per add, the largest part
/// of a hub's own cost per ingested signal). With the middle level a hash is built about a dozen times: a few times
/// into the middle level, once per base rebuild, and the base is rebuilt 8 times less often.
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
/// (base, frozen delta, delta) reference; the delta publishes its count after each add, tombstones are set with
/// release semantics, and a compaction publishes a whole new snapshot, so a reader never sees a torn entry.
/// Writers (add, remove, compact) serialise on one lock.
/// </para>
/// <para>
/// Recycling: a build writes into the arrays of a retired middle level, and a fresh delta reuses a retired one,
/// when they are large enough. Fresh arrays cost a page fault and the kernel's zeroing for every 4 KB written, about
/// as much as the build itself, and their churn drove the hub's full garbage collections. A retired level is
/// reused only after a grace period: each query counts itself in one of two reader counters (by the parity of an
/// epoch), and the writer flips the epoch and waits for the old counter to drain, so every query that could have
/// seen the retired level has finished. A spare middle level holds at most what the middle level itself may hold.
/// </para>
/// </remarks>
public sealed class PdqMultiIndex : IPdqMatchIndex
{
    private const int MinDeltaCapacity = 16_384;

    // The two reader counters sit 128 bytes apart, on cache lines of their own.
    private const int ReaderSlotStride = 16;

    private readonly PdqMultiIndexOptions _options;
    private readonly Lock _writeLock = new();
    private volatile Snapshot _snapshot;
    private int _count;

    // Set while a background compaction runs (writer lock held to read or change these).
    private Task? _compaction;
    private List<(int Id, Hash256 Hash)>? _removedDuringCompaction;

    // Queries in flight, counted by the parity of _readEpoch (see the remarks: recycling).
    private readonly long[] _readers = new long[2 * ReaderSlotStride];
    private int _readEpoch;
    private readonly Lock _graceLock = new();

    // Retired arrays no reader can see any more, for the next middle-level build and the next fresh delta
    // (writer lock held to read or change these).
    private MihBase? _spareMid;
    private MihDelta? _spareDelta;
    private int _recycledBuilds;

    /// <summary>Creates an empty index.</summary>
    public PdqMultiIndex(PdqMultiIndexOptions? options = null)
    {
        _options = options ?? new PdqMultiIndexOptions();
        _snapshot = new Snapshot(MihBase.Empty, MihBase.Empty, null, new MihDelta(DeltaCapacityFor(0)));
    }

    /// <inheritdoc />
    public int Count => Volatile.Read(ref _count);

    /// <summary>Bytes held by the index's arrays (base, deltas, tombstones); the figure behind the memory target.</summary>
    public long ApproximateBytes
    {
        get
        {
            var s = _snapshot;
            return s.Base.Bytes + (s.Mid == MihBase.Empty ? 0 : s.Mid.Bytes) + (s.Frozen?.Bytes ?? 0) + s.Delta.Bytes
                + (Volatile.Read(ref _spareMid)?.Bytes ?? 0) + (Volatile.Read(ref _spareDelta)?.Bytes ?? 0);
        }
    }

    /// <summary>Entries waiting in the delta, for monitoring.</summary>
    public int DeltaCount => Volatile.Read(ref _snapshot.Delta.Count);

    /// <summary>Entries (removed ones included) in the middle level, for monitoring and tests.</summary>
    internal int MidCount => _snapshot.Mid.Count;

    /// <summary>Entries (removed ones included) in the base, for tests.</summary>
    internal int BaseCount => _snapshot.Base.Count;

    /// <summary>The current base and middle level, for tests that check their tables.</summary>
    internal (MihBase Base, MihBase Mid) Levels => (_snapshot.Base, _snapshot.Mid);

    /// <summary>The spare middle level's and delta's capacities (0 when none), for tests.</summary>
    internal (int Mid, int Delta) SpareCapacities
    {
        get
        {
            lock (_writeLock)
            {
                return (_spareMid?.Capacity ?? 0, _spareDelta?.Capacity ?? 0);
            }
        }
    }

    /// <summary>Middle-level builds written into a spare's arrays, for tests.</summary>
    internal int RecycledBuilds
    {
        get
        {
            lock (_writeLock)
            {
                return _recycledBuilds;
            }
        }
    }

    /// <summary>The running background compaction, if any (tests wait on it).</summary>
    internal Task? CompactionTask
    {
        get
        {
            lock (_writeLock)
            {
                return _compaction;
            }
        }
    }

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
        while (true)
        {
            Task running;
            lock (_writeLock)
            {
                var delta = _snapshot.Delta;
                if (delta.Count == delta.Capacity && _compaction is null)
                {
                    StartCompactionLocked();
                    delta = _snapshot.Delta;
                }
                if (delta.Count < delta.Capacity)
                {
                    delta.Add(id, hash);
                    Volatile.Write(ref _count, _count + 1);
                    return;
                }
                running = _compaction!;
            }
            // The fresh delta filled up before the background build finished: wait for it outside the lock
            // (it publishes under the lock), then retry.
            running.Wait();
        }
    }

    /// <summary>
    /// Adds many entries. When they do not fit in the delta, they go straight into a new base with the
    /// current entries (one compaction instead of many), built on the calling thread.
    /// </summary>
    public void AddRange(ReadOnlySpan<int> ids, ReadOnlySpan<Hash256> hashes)
    {
        if (ids.Length != hashes.Length)
        {
            throw new ArgumentException("ids and hashes must have the same length.", nameof(ids));
        }
        while (true)
        {
            Task running;
            lock (_writeLock)
            {
                var delta = _snapshot.Delta;
                var fits = delta.Count + hashes.Length <= delta.Capacity;
                if (fits || _compaction is null)
                {
                    if (fits)
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
                    return;
                }
                running = _compaction;
            }
            running.Wait();
        }
    }

    /// <inheritdoc />
    public bool Remove(int id, in Hash256 hash)
    {
        lock (_writeLock)
        {
            var s = _snapshot;
            if (!s.Delta.Remove(id, hash))
            {
                if (!(s.Frozen?.Remove(id, hash) ?? false) && !s.Mid.Remove(id, hash) && !s.Base.Remove(id, hash))
                {
                    return false;
                }
                // The entry is in the inputs of a running build, which read the tombstones before this removal.
                _removedDuringCompaction?.Add((id, hash));
            }
            Volatile.Write(ref _count, _count - 1);
            if (_compaction is null && s.Base.Removed > Math.Max(1024, s.Base.Count * _options.MaxRemovedFraction))
            {
                StartCompactionLocked(wholeBase: true);
            }
            return true;
        }
    }

    /// <summary>
    /// Folds the deltas and the tombstones into a new compact base now, on the calling thread (after any
    /// background compaction finishes). Queries keep running on the old snapshot meanwhile; writers wait.
    /// </summary>
    public void Compact()
    {
        while (true)
        {
            Task running;
            lock (_writeLock)
            {
                if (_compaction is null)
                {
                    CompactLocked(default, default);
                    return;
                }
                running = _compaction;
            }
            running.Wait();
        }
    }

    /// <inheritdoc />
    public void Query(in Hash256 query, int radius, List<PdqMatch> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        ArgumentOutOfRangeException.ThrowIfNegative(radius);
        var slot = EnterRead();
        try
        {
            var s = _snapshot;
            Span<int> sub = stackalloc int[MihLayout.Chunks];
            MihLayout.PlanProbes(Math.Min(radius, 256), sub);
            if (!_options.DisableLinearFallback && LinearIsCheaper(s, sub))
            {
                HammingScan.Scan(s.Base.Hashes, s.Base.Ids, s.Base.Tombstones, query, radius, results);
                HammingScan.Scan(s.Mid.Hashes, s.Mid.Ids, s.Mid.Tombstones, query, radius, results);
                if (s.Frozen is { } frozen)
                {
                    ScanDelta(frozen, query, radius, results);
                }
                ScanDelta(s.Delta, query, radius, results);
                return;
            }
            s.Base.Query(query, radius, sub, results);
            s.Mid.Query(query, radius, sub, results);
            s.Frozen?.Query(query, radius, sub, results);
            s.Delta.Query(query, radius, sub, results);
        }
        finally
        {
            ExitRead(slot);
        }
    }

    /// <summary>
    /// Counts a query under the current epoch's parity and returns its counter's slot. If the epoch flipped
    /// meanwhile, the query counts itself again under the new parity before it reads the snapshot: a writer that
    /// flips the epoch and waits for the old counter therefore waits for every query that could have read the
    /// snapshot before the flip.
    /// </summary>
    internal int EnterRead()
    {
        while (true)
        {
            var slot = (Volatile.Read(ref _readEpoch) & 1) * ReaderSlotStride;
            Interlocked.Increment(ref _readers[slot]);
            if ((Volatile.Read(ref _readEpoch) & 1) * ReaderSlotStride == slot)
            {
                return slot;
            }
            Interlocked.Decrement(ref _readers[slot]);
        }
    }

    /// <summary>Ends a query counted by <see cref="EnterRead"/>.</summary>
    internal void ExitRead(int slot) => Interlocked.Decrement(ref _readers[slot]);

    /// <summary>
    /// Waits until every query that started before this call has finished: the epoch flips (new queries count
    /// under the other parity), then the old parity's counter drains. Whatever was retired from the snapshot
    /// before the call is then seen by no reader. Both sides use full fences (interlocked operations), so either
    /// a query sees the flip and reads the new snapshot, or this wait sees the query.
    /// </summary>
    private void WaitForReaders()
    {
        lock (_graceLock)
        {
            var slot = (_readEpoch & 1) * ReaderSlotStride;
            Interlocked.Increment(ref _readEpoch);
            var spin = new SpinWait();
            while (Volatile.Read(ref _readers[slot]) != 0)
            {
                spin.SpinOnce();
            }
        }
    }

    private static void ScanDelta(MihDelta delta, in Hash256 query, int radius, List<PdqMatch> results)
    {
        var n = Volatile.Read(ref delta.Count);
        HammingScan.Scan(delta.Hashes.AsSpan(0, n), delta.Ids.AsSpan(0, n), delta.Tombstones, query, radius, results);
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
        double n = s.Base.Count + s.Mid.Count + (s.Frozen?.Count ?? 0) + Volatile.Read(ref s.Delta.Count);
        var candidates = probes * n / MihLayout.Buckets;
        return probes + (_options.CandidateCostFactor * candidates) > n;
    }

    // Synchronous compaction of everything, plus optional bulk entries. Caller holds the lock and has checked
    // that no background compaction runs.
    private void CompactLocked(ReadOnlySpan<int> extraIds, ReadOnlySpan<Hash256> extraHashes)
    {
        var old = _snapshot;
        var frozen = old.Frozen;
        var frozenCount = frozen?.Count ?? 0;
        var deltaCount = old.Delta.Count;
        var live = _count + extraHashes.Length;
        var newBase = MihBase.Build(
            new MihBase.Source(old.Base.Hashes, old.Base.Ids, old.Base.Tombstones),
            new MihBase.Source(old.Mid.Hashes, old.Mid.Ids, old.Mid.Tombstones),
            frozen is null ? default : new MihBase.Source(frozen.Hashes.AsSpan(0, frozenCount), frozen.Ids.AsSpan(0, frozenCount), frozen.Tombstones),
            new MihBase.Source(old.Delta.Hashes.AsSpan(0, deltaCount), old.Delta.Ids.AsSpan(0, deltaCount), old.Delta.Tombstones),
            new MihBase.Source(extraHashes, extraIds, null),
            live);
        _snapshot = new Snapshot(newBase, MihBase.Empty, null, NewDeltaLocked(DeltaCapacityFor(live)));
        // The old delta is not kept: a spare is one of the fresh delta's size, and the delta was just sized anew.
        RecycleLocked(old.Mid, frozen);
    }

    // Freezes the delta and builds from it and the middle level a new middle level, or (when the middle level
    // would outgrow its share of the base, or when asked) a new base from the base as well, in the background
    // unless the options say otherwise. Caller holds the lock and has checked that no background compaction runs.
    private void StartCompactionLocked(bool wholeBase = false)
    {
        var old = _snapshot;
        if (old.Frozen is not null)
        {
            // A frozen delta left here means the last background build failed: retry on this thread, so the
            // error (out of memory, most likely) reaches a caller instead of repeating unseen.
            CompactLocked(default, default);
            return;
        }
        var frozen = old.Delta;
        var frozenCount = frozen.Count;
        var baseLive = old.Base.Count - old.Base.Removed;
        var recentLive = (old.Mid.Count - old.Mid.Removed) + (frozenCount - frozen.Removed);
        wholeBase |= _options.MidDivisor <= 0 || recentLive > MidLimit(baseLive);
        var live = (wholeBase ? baseLive : 0) + recentLive;
        var delta = NewDeltaLocked(DeltaCapacityFor(baseLive + recentLive));
        // A middle level goes into the spare's arrays when they have room, or else into fresh ones with room for
        // all the middle level may hold (twice its entries while it is under an eighth of that: a small list does
        // not pay for room it may never use), so that the builds to come can reuse them.
        var limit = MidLimit(baseLive);
        var room = wholeBase ? live : Math.Max(live, live >= limit / 8 ? limit : 2 * live);
        MihBase? recycle = null;
        if (!wholeBase && _spareMid is { } spare && spare.Capacity >= live)
        {
            recycle = spare;
            _spareMid = null;
            _recycledBuilds++;
        }
        // From the base (when it is rebuilt too), the middle level and the frozen delta, minus the given tombstones.
        MihBase BuildLevel(ulong[]? baseTombstones, ulong[] midTombstones, ulong[] frozenTombstones) => MihBase.Build(
            wholeBase ? new MihBase.Source(old.Base.Hashes, old.Base.Ids, baseTombstones) : default,
            new MihBase.Source(old.Mid.Hashes, old.Mid.Ids, midTombstones),
            new MihBase.Source(frozen.Hashes.AsSpan(0, frozenCount), frozen.Ids.AsSpan(0, frozenCount), frozenTombstones),
            default,
            default,
            live,
            recycle,
            room);
        if (!_options.BackgroundCompaction)
        {
            PublishLocked(BuildLevel(old.Base.Tombstones, old.Mid.Tombstones, frozen.Tombstones), wholeBase, delta);
            RecycleLocked(old.Mid, frozen);
            return;
        }
        // The build reads copies of the tombstones taken now; removals from here on are logged and replayed on
        // what it builds, so each entry is either left out by the build or removed by the replay, never both.
        var baseTombstones = wholeBase ? (ulong[])old.Base.Tombstones.Clone() : null;
        var midTombstones = (ulong[])old.Mid.Tombstones.Clone();
        var frozenTombstones = (ulong[])frozen.Tombstones.Clone();
        _removedDuringCompaction = [];
        _snapshot = new Snapshot(old.Base, old.Mid, frozen, delta);
        _compaction = Task.Run(() =>
        {
            MihBase? built = null;
            var published = false;
            try
            {
                built = BuildLevel(baseTombstones, midTombstones, frozenTombstones);
            }
            finally
            {
                lock (_writeLock)
                {
                    if (built is not null)
                    {
                        // A removal from the base during a build of the middle level is not in what was built: the
                        // base (kept) has it already.
                        foreach (var (id, hash) in _removedDuringCompaction!)
                        {
                            built.Remove(id, hash);
                        }
                        PublishLocked(built, wholeBase, _snapshot.Delta);
                        published = true;
                    }
                    _removedDuringCompaction = null;
                    if (!published)
                    {
                        _compaction = null;
                    }
                }
            }
            // Outside the lock: adds and removes go on while the queries that may still read the retired middle
            // level and frozen delta finish. The compaction counts as running until then.
            var reclaimed = false;
            try
            {
                WaitForReaders();
                frozen.Reset();
                reclaimed = true;
            }
            finally
            {
                lock (_writeLock)
                {
                    if (reclaimed)
                    {
                        KeepSparesLocked(old.Mid, frozen);
                    }
                    _compaction = null;
                }
            }
        });
    }

    // Publishes what a build made: a new base (with an empty middle level) or a new middle level (same base).
    private void PublishLocked(MihBase built, bool wholeBase, MihDelta delta) =>
        _snapshot = wholeBase ? new Snapshot(built, MihBase.Empty, null, delta) : new Snapshot(_snapshot.Base, built, null, delta);

    // After a publish on the writer's thread: waits out the readers of the retired middle level and delta, then
    // keeps them as spares. Readers take no lock, so waiting under the writer lock holds up writers only.
    private void RecycleLocked(MihBase retiredMid, MihDelta? retiredDelta)
    {
        WaitForReaders();
        retiredDelta?.Reset();
        KeepSparesLocked(retiredMid, retiredDelta);
    }

    // Keeps a retired middle level (the larger of it and the current spare) and a reset delta, both past their
    // grace period. A spare with more than twice the room the middle level may now hold (after a base rebuild
    // that dropped many removed entries) is let go rather than held as memory no build needs.
    private void KeepSparesLocked(MihBase retiredMid, MihDelta? resetDelta)
    {
        if (retiredMid != MihBase.Empty && retiredMid.Capacity > (_spareMid?.Capacity ?? 0))
        {
            _spareMid = retiredMid;
        }
        if (_spareMid is not null && _spareMid.Capacity > 2 * MidLimit(_snapshot.Base.Count))
        {
            _spareMid = null;
        }
        if (resetDelta is not null)
        {
            _spareDelta = resetDelta;
        }
    }

    // A fresh delta: the spare when it has exactly this capacity (a delta's size sets how often the levels are
    // built), a new one otherwise.
    private MihDelta NewDeltaLocked(int capacity)
    {
        var spare = _spareDelta;
        _spareDelta = null;
        return spare is not null && spare.Capacity == capacity ? spare : new MihDelta(capacity);
    }

    // The most live entries the middle level holds before the base is rebuilt with it.
    private int MidLimit(int baseLive) => Math.Max(_options.MinMidCapacity, baseLive / Math.Max(1, _options.MidDivisor));

    private int DeltaCapacityFor(int baseCount) =>
        _options.DeltaCapacity is { } fixedCapacity
            ? Math.Max(1, fixedCapacity)
            : Math.Max(MinDeltaCapacity, baseCount / Math.Max(1, _options.DeltaDivisor));

    private sealed class Snapshot(MihBase @base, MihBase mid, MihDelta? frozen, MihDelta delta)
    {
        public MihBase Base { get; } = @base;

        /// <summary>The middle level: recent adds, compact like the base (<see cref="MihBase.Empty"/> when none).</summary>
        public MihBase Mid { get; } = mid;

        /// <summary>The delta being folded into the next base by a background compaction; null otherwise.</summary>
        public MihDelta? Frozen { get; } = frozen;

        public MihDelta Delta { get; } = delta;
    }
}
