using HashHub.Core.Signals;

namespace HashHub.Core.Matching;

/// <summary>
/// The generic path: any signal type, matched by scanning every value with the type's own distance. This is how
/// a PhotoDNA-like type with a pluggable distance is matched; it suits lists up to some hundred thousand values.
/// </summary>
/// <remarks>
/// Concurrency as in <see cref="PdqLinearIndex"/>: an append-only segment with a published count, tombstones for
/// removes, and a larger copy (without the removed entries) published when it is full.
/// </remarks>
internal sealed class LinearSignalIndex(SignalType type) : ISignalIndex
{
    private readonly Lock _writeLock = new();
    private volatile Segment _segment = new(16);

    public SignalType Type { get; } = type;

    public int Count
    {
        get
        {
            var s = _segment;
            return Volatile.Read(ref s.Count) - Volatile.Read(ref s.Removed);
        }
    }

    public void Add(int id, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_writeLock)
        {
            var s = _segment;
            if (s.Count == s.Values.Length)
            {
                s = Grow(s);
            }
            s.Values[s.Count] = value;
            s.Ids[s.Count] = id;
            Volatile.Write(ref s.Count, s.Count + 1);
        }
    }

    public bool Remove(int id, string value)
    {
        lock (_writeLock)
        {
            var s = _segment;
            for (var i = 0; i < s.Count; i++)
            {
                if (s.Ids[i] == id && string.Equals(s.Values[i], value, StringComparison.Ordinal) && !Tombstones.IsSet(s.Tombstones, i))
                {
                    Tombstones.Set(s.Tombstones, i);
                    Volatile.Write(ref s.Removed, s.Removed + 1);
                    return true;
                }
            }
            return false;
        }
    }

    public void Query(string value, int threshold, List<SignalMatch> results)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(results);
        var s = _segment;
        var n = Volatile.Read(ref s.Count);
        for (var i = 0; i < n; i++)
        {
            var d = Type.Distance(value, s.Values[i]);
            if (d <= threshold && !Tombstones.IsSet(s.Tombstones, i))
            {
                results.Add(new SignalMatch(s.Ids[i], d));
            }
        }
    }

    private Segment Grow(Segment old)
    {
        var grown = new Segment(Math.Max(16, (old.Count - old.Removed) * 2));
        var n = 0;
        for (var i = 0; i < old.Count; i++)
        {
            if (!Tombstones.IsSet(old.Tombstones, i))
            {
                grown.Values[n] = old.Values[i];
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
        public readonly string[] Values = new string[capacity];
        public readonly int[] Ids = new int[capacity];
        public readonly ulong[] Tombstones = Matching.Tombstones.Create(capacity);
        public int Count;
        public int Removed;
    }
}
