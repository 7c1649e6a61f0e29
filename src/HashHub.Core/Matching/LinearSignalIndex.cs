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
    private volatile AppendSegment<string> _segment = new(16);

    public SignalType Type { get; } = type;

    public int Count => _segment.Live;

    public void Add(int id, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_writeLock)
        {
            _segment = _segment.Append(id, value);
        }
    }

    public bool Remove(int id, string value)
    {
        lock (_writeLock)
        {
            return _segment.Remove(id, v => string.Equals(v, value, StringComparison.Ordinal));
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
}
