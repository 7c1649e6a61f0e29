namespace HashHub.Core.Matching;

/// <summary>
/// A PDQ index that answers every query with a SIMD linear scan. It is exact by construction, so the tests use it
/// as the oracle for <see cref="PdqMultiIndex"/>; it is also the simplest choice for lists of a few thousand hashes.
/// </summary>
/// <remarks>
/// Thread-safety as described on <see cref="IPdqMatchIndex"/>: readers scan an append-only segment up to its
/// published count; the writer appends in place and, when the segment is full, publishes a larger copy.
/// </remarks>
public sealed class PdqLinearIndex : IPdqMatchIndex
{
    private readonly Lock _writeLock = new();
    private volatile Segment _segment = new(16);

    /// <inheritdoc />
    public int Count
    {
        get
        {
            var s = _segment;
            return Volatile.Read(ref s.Count) - Volatile.Read(ref s.Removed);
        }
    }

    /// <inheritdoc />
    public void Add(int id, in Hash256 hash)
    {
        lock (_writeLock)
        {
            var s = _segment;
            if (s.Count == s.Hashes.Length)
            {
                s = Grow(s);
            }
            s.Hashes[s.Count] = hash;
            s.Ids[s.Count] = id;
            // Publish the count only after the entry is written, so a reader never sees a half-written slot.
            Volatile.Write(ref s.Count, s.Count + 1);
        }
    }

    /// <inheritdoc />
    public bool Remove(int id, in Hash256 hash)
    {
        lock (_writeLock)
        {
            var s = _segment;
            for (var i = 0; i < s.Count; i++)
            {
                if (s.Ids[i] == id && s.Hashes[i] == hash && !Tombstones.IsSet(s.Tombstones, i))
                {
                    Tombstones.Set(s.Tombstones, i);
                    Volatile.Write(ref s.Removed, s.Removed + 1);
                    return true;
                }
            }
            return false;
        }
    }

    /// <inheritdoc />
    public void Query(in Hash256 query, int radius, List<PdqMatch> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var s = _segment;
        var n = Volatile.Read(ref s.Count);
        HammingScan.Scan(s.Hashes.AsSpan(0, n), s.Ids.AsSpan(0, n), s.Tombstones, query, radius, results);
    }

    // Copies the live entries into a segment twice as large (dropping removed ones) and publishes it.
    private Segment Grow(Segment old)
    {
        var live = old.Count - old.Removed;
        var grown = new Segment(Math.Max(16, live * 2));
        var n = 0;
        for (var i = 0; i < old.Count; i++)
        {
            if (!Tombstones.IsSet(old.Tombstones, i))
            {
                grown.Hashes[n] = old.Hashes[i];
                grown.Ids[n] = old.Ids[i];
                n++;
            }
        }
        grown.Count = n;
        _segment = grown;
        return grown;
    }

    private sealed class Segment(int capacity)
    {
        public readonly Hash256[] Hashes = new Hash256[capacity];
        public readonly int[] Ids = new int[capacity];
        public readonly ulong[] Tombstones = Matching.Tombstones.Create(capacity);
        public int Count;
        public int Removed;
    }
}
