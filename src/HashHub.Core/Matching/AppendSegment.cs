namespace HashHub.Core.Matching;

/// <summary>
/// The storage of the linear indexes: values and ids appended in place, removals as tombstone bits. Readers scan
/// up to the published <see cref="Count"/>; one writer at a time appends, and when the segment is full it gets a
/// larger copy of the live entries, which the owner publishes.
/// </summary>
internal sealed class AppendSegment<T>(int capacity)
{
    public readonly T[] Values = new T[capacity];
    public readonly int[] Ids = new int[capacity];
    public readonly ulong[] Tombstones = Matching.Tombstones.Create(capacity);
    public int Count;
    public int Removed;

    /// <summary>Entries not removed, as readers see them.</summary>
    public int Live => Volatile.Read(ref Count) - Volatile.Read(ref Removed);

    /// <summary>Appends an entry; returns this segment, or the larger copy made because this one was full.</summary>
    public AppendSegment<T> Append(int id, T value)
    {
        var s = Count == Values.Length ? Grow() : this;
        s.Values[s.Count] = value;
        s.Ids[s.Count] = id;
        // Publish the count only after the entry is written, so a reader never sees a half-written slot.
        Volatile.Write(ref s.Count, s.Count + 1);
        return s;
    }

    /// <summary>Marks the first live entry with this id whose value <paramref name="isValue"/> accepts as removed.</summary>
    public bool Remove(int id, Func<T, bool> isValue)
    {
        for (var i = 0; i < Count; i++)
        {
            if (Ids[i] == id && !Matching.Tombstones.IsSet(Tombstones, i) && isValue(Values[i]))
            {
                Matching.Tombstones.Set(Tombstones, i);
                Volatile.Write(ref Removed, Removed + 1);
                return true;
            }
        }
        return false;
    }

    // Copies the live entries into a segment twice as large, dropping removed ones.
    private AppendSegment<T> Grow()
    {
        var grown = new AppendSegment<T>(Math.Max(16, (Count - Removed) * 2));
        var n = 0;
        for (var i = 0; i < Count; i++)
        {
            if (!Matching.Tombstones.IsSet(Tombstones, i))
            {
                grown.Values[n] = Values[i];
                grown.Ids[n] = Ids[i];
                n++;
            }
        }
        grown.Count = n;
        return grown;
    }
}
