using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace HashHub.Core.Matching;

/// <summary>
/// The small, append-only part of <see cref="PdqMultiIndex"/> that takes incremental adds between compactions.
/// </summary>
/// <remarks>
/// Fixed capacity, allocated once. Each chunk has 65,536 bucket heads and a next-link per entry (singly linked
/// lists, newest first), so an add costs 16 writes and no reallocation. An entry's 16 links sit together (one
/// 64-byte line), so an add touches that line and the 16 heads, not 16 lines of links as well. Links are stored
/// as index + 1, so the zeroed arrays the runtime hands out already mean "empty".
/// Publication: the writer fills the entry and all 16 links, then publishes <see cref="Count"/>. A reader reads
/// the count once and ignores entries at or above it, so it sees each entry in all chunks or in none.
/// </remarks>
internal sealed class MihDelta
{
    private readonly int[] _heads = new int[MihLayout.Chunks * MihLayout.Buckets];
    private readonly int[] _next;

    public MihDelta(int capacity)
    {
        Hashes = new Hash256[capacity];
        Ids = new int[capacity];
        Tombstones = Matching.Tombstones.Create(capacity);
        _next = new int[MihLayout.Chunks * capacity];
    }

    public Hash256[] Hashes { get; }

    public int[] Ids { get; }

    public ulong[] Tombstones { get; }

    /// <summary>Published number of entries; read with <see cref="Volatile"/>.</summary>
    public int Count;

    /// <summary>Removed entries; written by the writer only.</summary>
    public int Removed;

    public int Capacity => Hashes.Length;

    public long Bytes => (long)Capacity * (32 + 4 + 4 * MihLayout.Chunks) + _heads.Length * 4L + Tombstones.Length * 8L;

    /// <summary>Appends one entry (writer only); the caller checks capacity.</summary>
    public void Add(int id, in Hash256 hash)
    {
        var i = Count;
        Hashes[i] = hash;
        Ids[i] = id;
        var links = i * MihLayout.Chunks;
        for (var c = 0; c < MihLayout.Chunks; c++)
        {
            var head = c * MihLayout.Buckets + MihLayout.Chunk(hash, c);
            _next[links + c] = _heads[head];
            Volatile.Write(ref _heads[head], i + 1);
        }
        // Release: everything above is visible to a reader that sees the new count.
        Volatile.Write(ref Count, i + 1);
    }

    /// <summary>
    /// Empties a retired delta for reuse as a fresh one: its arrays are memory the process already holds, where a
    /// new delta's 4 MB of bucket heads would be fresh pages, each a fault and the kernel's zeroing. Only once no
    /// reader can still see it (see <see cref="PdqMultiIndex"/>).
    /// </summary>
    public void Reset()
    {
        Array.Clear(_heads);
        Array.Clear(Tombstones);
        Removed = 0;
        Volatile.Write(ref Count, 0);
    }

    public bool Remove(int id, in Hash256 hash)
    {
        for (var link = _heads[MihLayout.Chunk(hash, 0)]; link != 0; link = _next[(link - 1) * MihLayout.Chunks])
        {
            var i = link - 1;
            if (Ids[i] == id && Hashes[i] == hash && !Matching.Tombstones.IsSet(Tombstones, i))
            {
                Matching.Tombstones.Set(Tombstones, i);
                Removed++;
                return true;
            }
        }
        return false;
    }

    public void Query(in Hash256 q, int radius, ReadOnlySpan<int> sub, List<PdqMatch> results)
    {
        var n = Volatile.Read(ref Count);
        if (n == 0)
        {
            return;
        }
        ref var heads = ref MemoryMarshal.GetArrayDataReference(_heads);
        for (var c = 0; c < MihLayout.Chunks; c++)
        {
            var s = sub[c];
            if (s < 0)
            {
                continue;
            }
            var qc = MihLayout.Chunk(q, c);
            var probes = MihLayout.MaskCount[s];
            for (var m = 0; m < probes; m++)
            {
                // Heads may already point at entries added after n was read; those are skipped, and the links
                // below them were written before they were published, so the walk reaches the older entries.
                for (var link = Volatile.Read(ref Unsafe.Add(ref heads, c * MihLayout.Buckets + (qc ^ MihLayout.Masks[m])));
                     link != 0;
                     link = _next[((link - 1) * MihLayout.Chunks) + c])
                {
                    var i = link - 1;
                    if (i >= n)
                    {
                        continue;
                    }
                    ref readonly var h = ref Hashes[i];
                    var d = h.DistanceTo(q);
                    if (d <= radius && !MihLayout.FoundEarlier(h, q, c, sub) && !Matching.Tombstones.IsSet(Tombstones, i))
                    {
                        results.Add(new PdqMatch(Ids[i], d));
                    }
                }
            }
        }
    }
}
