using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HashHub.Core.Matching;

/// <summary>
/// The compact, immutable part of <see cref="PdqMultiIndex"/>: flat bucket tables built by counting sort.
/// </summary>
/// <remarks>
/// The hashes are stored sorted by chunk 0, so chunk 0's bucket b is simply the range
/// Offsets[0][b]..Offsets[0][b+1] of <see cref="Hashes"/> and needs no position table. Chunks 1-15 each have an
/// offsets array (65,537 ints) and a positions array (one int per hash, grouped by bucket). Per hash that is
/// 32 (hash) + 4 (id) + 15 x 4 (positions) = 96 bytes, plus 4 MB of offsets and 1 bit of tombstone.
/// Only the tombstones change after construction (writer only), until the level is retired: a later build may
/// then write over its arrays (<see cref="Build"/>'s recycle), once no reader can still see it.
/// </remarks>
internal sealed class MihBase
{
    public static readonly MihBase Empty = Build(default, default, default, default, default, 0);

    private readonly int[] _ids;

    private MihBase(AlignedHashes hashes, int[] ids, int[][] offsets, int[][] positions, ulong[] tombstones, int count)
    {
        Store = hashes;
        _ids = ids;
        Offsets = offsets;
        Positions = positions;
        Tombstones = tombstones;
        Count = count;
    }

    public AlignedHashes Store { get; }

    /// <summary>The hashes, sorted by chunk 0.</summary>
    public Span<Hash256> Hashes => Store.Span[..Count];

    public Span<int> Ids => _ids.AsSpan(0, Count);

    public int[][] Offsets { get; }

    /// <summary>Positions[c] for chunks 1-15 (Positions[0] is empty: chunk 0 is the storage order).</summary>
    public int[][] Positions { get; }

    public ulong[] Tombstones { get; }

    /// <summary>Removed entries; written by the writer only.</summary>
    public int Removed;

    public int Count { get; }

    /// <summary>How many entries this level's arrays hold room for (a recycled level may hold fewer).</summary>
    public int Capacity => Store.Capacity;

    /// <summary>The bytes this base holds (arrays only, with their unused room), for the memory figures.</summary>
    public long Bytes =>
        Store.Bytes + (long)_ids.Length * 4 + (long)Tombstones.Length * 8
        + Offsets.Sum(o => (long)o.Length * 4) + Positions.Sum(p => (long)p.Length * 4);

    /// <summary>
    /// Builds a base from up to five sources (the old base, the middle level, deltas, new bulk entries), keeping
    /// only the entries whose tombstone bit is clear. Two passes over the sources (count, then scatter) avoid a
    /// temporary copy of the whole list, which at 10 million hashes would be another 360 MB.
    /// </summary>
    /// <remarks>
    /// <c>liveTotal</c> is the number of entries the sources hold without tombstones. <c>recycle</c> is a retired
    /// level that no reader can still see (see <see cref="PdqMultiIndex"/>), whose arrays are written over when
    /// they have room: memory the process already holds, where fresh arrays would cost a page fault and the
    /// kernel's zeroing for every 4 KB (about as much as the build's own work). <c>capacity</c> is the room given
    /// to fresh arrays (at least <c>liveTotal</c>).
    /// </remarks>
    public static MihBase Build(in Source a, in Source b, in Source c, in Source d, in Source e, int liveTotal, MihBase? recycle = null, int capacity = 0)
    {
        AlignedHashes store;
        int[] ids;
        int[][] offsets;
        int[][] positions;
        ulong[] tombstones;
        if (recycle is not null && recycle != Empty && recycle.Capacity >= liveTotal)
        {
            store = recycle.Store;
            ids = recycle._ids;
            offsets = recycle.Offsets;
            positions = recycle.Positions;
            tombstones = recycle.Tombstones;
            Array.Clear(tombstones);
        }
        else
        {
            capacity = Math.Max(capacity, liveTotal);
            store = new AlignedHashes(capacity);
            ids = new int[capacity];
            offsets = new int[MihLayout.Chunks][];
            positions = new int[MihLayout.Chunks][];
            for (var ch = 0; ch < MihLayout.Chunks; ch++)
            {
                // Every slot is written below.
                offsets[ch] = GC.AllocateUninitializedArray<int>(MihLayout.Buckets + 1);
                // Pinned so that huge-page advice applies to memory that stays put.
                positions[ch] = ch == 0 ? [] : HugePages.AllocatePinned<int>(capacity);
            }
            tombstones = Matching.Tombstones.Create(capacity);
        }
        var hashes = store.Span[..liveTotal];

        var cursor = ArrayPool<int>.Shared.Rent(MihLayout.Buckets + 1);
        try
        {
            var off0 = offsets[0];
            var counts = cursor.AsSpan(0, MihLayout.Buckets + 1);
            counts.Clear();
            a.CountChunk0(counts);
            b.CountChunk0(counts);
            c.CountChunk0(counts);
            d.CountChunk0(counts);
            e.CountChunk0(counts);
            StartsOf(counts, off0, cursor);
            var n = a.Scatter(cursor, hashes, ids) + b.Scatter(cursor, hashes, ids) + c.Scatter(cursor, hashes, ids) + d.Scatter(cursor, hashes, ids)
                + e.Scatter(cursor, hashes, ids);
            if (n != liveTotal)
            {
                throw new InvalidOperationException($"Index build expected {liveTotal} live entries, found {n}.");
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(cursor);
        }

        // The 15 other tables are independent; two cores build them in about half the time.
        if (liveTotal >= 100_000)
        {
            Parallel.For(1, MihLayout.Chunks, ch => BuildTable(store.Span[..liveTotal], ch, offsets[ch], positions[ch]));
        }
        else
        {
            for (var ch = 1; ch < MihLayout.Chunks; ch++)
            {
                BuildTable(hashes, ch, offsets[ch], positions[ch]);
            }
        }
        return new MihBase(store, ids, offsets, positions, tombstones, liveTotal);
    }

    // Counting sort of the positions by the value of chunk ch into pos (bucket starts into off); stable, so each
    // bucket lists positions in increasing order and a probe walks the hash array forwards.
    private static void BuildTable(ReadOnlySpan<Hash256> hashes, int ch, int[] off, int[] pos)
    {
        var cursor = ArrayPool<int>.Shared.Rent(MihLayout.Buckets + 1);
        try
        {
            var counts = cursor.AsSpan(0, MihLayout.Buckets + 1);
            counts.Clear();
            foreach (ref readonly var h in hashes)
            {
                counts[MihLayout.Chunk(h, ch)]++;
            }
            StartsOf(counts, off, cursor);
            for (var i = 0; i < hashes.Length; i++)
            {
                pos[cursor[MihLayout.Chunk(hashes[i], ch)]++] = i;
            }
        }
        finally
        {
            ArrayPool<int>.Shared.Return(cursor);
        }
    }

    // From each bucket's count (counts[b]), its start: off[b], and the bucket's write cursor (the same value, in
    // place of its count). off[Buckets] is the total.
    private static void StartsOf(ReadOnlySpan<int> counts, int[] off, int[] cursor)
    {
        var starts = off.AsSpan(0, MihLayout.Buckets + 1);
        counts = counts[..MihLayout.Buckets];
        var sum = 0;
        for (var b = 0; b < counts.Length; b++)
        {
            starts[b] = sum;
            sum += counts[b];
        }
        starts[MihLayout.Buckets] = sum;
        starts[..MihLayout.Buckets].CopyTo(cursor);
    }

    /// <summary>
    /// Appends the matches of this base, each once. <paramref name="sub"/> is the probe plan of
    /// <see cref="MihLayout.PlanProbes"/>.
    /// </summary>
    public void Query(in Hash256 q, int radius, ReadOnlySpan<int> sub, List<PdqMatch> results)
    {
        if (Count == 0)
        {
            return;
        }
        PrefetchOffsets(q, sub);
        // Candidates are random reads across the whole hash array, so the query is bound by memory latency, not
        // arithmetic. Each chunk's candidate positions are first gathered into a batch (sequential reads of the
        // bucket tables), then checked in a tight loop that prefetches PrefetchDistance candidates ahead, which
        // keeps that many cache misses in flight.
        Span<int> batch = stackalloc int[BatchSize];
        var subLanes = MihLayout.SubLanes(sub);
        for (var c = 0; c < MihLayout.Chunks; c++)
        {
            var s = sub[c];
            if (s < 0)
            {
                continue;
            }
            var qc = MihLayout.Chunk(q, c);
            var probes = MihLayout.MaskCount[s];
            var off = Offsets[c];
            var positions = Positions[c];
            var n = 0;
            for (var m = 0; m < probes; m++)
            {
                var v = qc ^ MihLayout.Masks[m];
                var start = off[v];
                var end = off[v + 1];
                while (start < end)
                {
                    var take = Math.Min(end - start, BatchSize - n);
                    if (c == 0)
                    {
                        // Chunk 0 is the storage order: its buckets are ranges of the hash array.
                        for (var k = 0; k < take; k++)
                        {
                            batch[n + k] = start + k;
                        }
                    }
                    else
                    {
                        positions.AsSpan(start, take).CopyTo(batch[n..]);
                    }
                    n += take;
                    start += take;
                    if (n == BatchSize)
                    {
                        CheckBatch(batch, q, radius, c, sub, subLanes, results);
                        n = 0;
                    }
                }
            }
            CheckBatch(batch[..n], q, radius, c, sub, subLanes, results);
        }
    }

    // The bucket offsets of all probes are random reads too (16 tables of 256 KB); fetching them all up front
    // overlaps those misses with each other instead of paying them one probe at a time.
    private unsafe void PrefetchOffsets(in Hash256 q, ReadOnlySpan<int> sub)
    {
        if (!Sse.IsSupported)
        {
            return;
        }
        for (var c = 0; c < MihLayout.Chunks; c++)
        {
            if (sub[c] < 0)
            {
                continue;
            }
            var qc = MihLayout.Chunk(q, c);
            ref var off = ref MemoryMarshal.GetArrayDataReference(Offsets[c]);
            var probes = Math.Min(MihLayout.MaskCount[sub[c]], 64);
            for (var m = 0; m < probes; m++)
            {
                Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref off, qc ^ MihLayout.Masks[m])));
            }
        }
    }

    private const int BatchSize = 1024;
    private const int PrefetchDistance = 16;

    private unsafe void CheckBatch(
        ReadOnlySpan<int> batch, in Hash256 q, int radius, int c, ReadOnlySpan<int> sub, Vector256<short> subLanes, List<PdqMatch> results)
    {
        ref var hashes = ref MemoryMarshal.GetReference(Hashes);
        ref var cand = ref MemoryMarshal.GetReference(batch);
        var n = batch.Length;
        if (Sse.IsSupported)
        {
            // A prefetch never faults, and the hashes are pinned.
            for (var k = 0; k < Math.Min(n, PrefetchDistance); k++)
            {
                Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref hashes, Unsafe.Add(ref cand, k))));
            }
        }
        var q0 = q.Word0;
        var q1 = q.Word1;
        var q2 = q.Word2;
        var q3 = q.Word3;
        for (var k = 0; k < n; k++)
        {
            if (Sse.IsSupported && k + PrefetchDistance < n)
            {
                Sse.Prefetch0(Unsafe.AsPointer(ref Unsafe.Add(ref hashes, Unsafe.Add(ref cand, k + PrefetchDistance))));
            }
            var i = Unsafe.Add(ref cand, k);
            ref readonly var h = ref Unsafe.Add(ref hashes, i);
            var d = BitOperations.PopCount(h.Word0 ^ q0) + BitOperations.PopCount(h.Word1 ^ q1)
                + BitOperations.PopCount(h.Word2 ^ q2) + BitOperations.PopCount(h.Word3 ^ q3);
            if (d <= radius)
            {
                Report(i, d, q, c, sub, subLanes, results);
            }
        }
    }

    // Off the hot path: only matches get here.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void Report(int i, int d, in Hash256 q, int c, ReadOnlySpan<int> sub, Vector256<short> subLanes, List<PdqMatch> results)
    {
        if (!MihLayout.FoundEarlier(Hashes[i], q, c, sub, subLanes) && !Matching.Tombstones.IsSet(Tombstones, i))
        {
            results.Add(new PdqMatch(Ids[i], d));
        }
    }

    /// <summary>Sets the tombstone of one live entry with this id and hash; false when there is none.</summary>
    public bool Remove(int id, in Hash256 hash)
    {
        var b = MihLayout.Chunk(hash, 0);
        var off = Offsets[0];
        for (var i = off[b]; i < off[b + 1]; i++)
        {
            if (Ids[i] == id && Hashes[i] == hash && !Matching.Tombstones.IsSet(Tombstones, i))
            {
                Matching.Tombstones.Set(Tombstones, i);
                Removed++;
                return true;
            }
        }
        return false;
    }

    /// <summary>A run of entries to build from: arrays, the count to read, and optional tombstones.</summary>
    internal readonly ref struct Source(ReadOnlySpan<Hash256> hashes, ReadOnlySpan<int> ids, ulong[]? tombstones)
    {
        private readonly ReadOnlySpan<Hash256> _hashes = hashes;
        private readonly ReadOnlySpan<int> _ids = ids;

        public void CountChunk0(Span<int> counts)
        {
            for (var i = 0; i < _hashes.Length; i++)
            {
                if (tombstones is null || !Matching.Tombstones.IsSet(tombstones, i))
                {
                    counts[MihLayout.Chunk(_hashes[i], 0)]++;
                }
            }
        }

        public int Scatter(int[] cursor, Span<Hash256> hashes, int[] ids)
        {
            var n = 0;
            for (var i = 0; i < _hashes.Length; i++)
            {
                if (tombstones is null || !Matching.Tombstones.IsSet(tombstones, i))
                {
                    var p = cursor[MihLayout.Chunk(_hashes[i], 0)]++;
                    hashes[p] = _hashes[i];
                    ids[p] = _ids[i];
                    n++;
                }
            }
            return n;
        }
    }
}
