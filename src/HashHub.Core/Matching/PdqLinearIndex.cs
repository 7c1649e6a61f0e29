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
    private volatile AppendSegment<Hash256> _segment = new(16);

    /// <inheritdoc />
    public int Count
    {
        get => _segment.Live;
    }

    /// <inheritdoc />
    public void Add(int id, in Hash256 hash)
    {
        lock (_writeLock)
        {
            _segment = _segment.Append(id, hash);
        }
    }

    /// <inheritdoc />
    public bool Remove(int id, in Hash256 hash)
    {
        var value = hash;
        lock (_writeLock)
        {
            return _segment.Remove(id, h => h == value);
        }
    }

    /// <inheritdoc />
    public void Query(in Hash256 query, int radius, List<PdqMatch> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var s = _segment;
        var n = Volatile.Read(ref s.Count);
        HammingScan.Scan(s.Values.AsSpan(0, n), s.Ids.AsSpan(0, n), s.Tombstones, query, radius, results);
    }
}
