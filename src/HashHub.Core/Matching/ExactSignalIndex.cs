using System.Collections.Concurrent;
using HashHub.Core.Signals;

namespace HashHub.Core.Matching;

/// <summary>
/// Exact matching (md5, sha256, url): a hash map from the canonical value to the ids that hold it.
/// </summary>
/// <remarks>
/// Readers use the concurrent dictionary's lock-free lookups; each value's id list is an immutable array the
/// writer replaces, so a reader never sees it half-updated. The threshold of a query is ignored: these types
/// match only on equality.
/// </remarks>
internal sealed class ExactSignalIndex(SignalType type) : ISignalIndex
{
    private readonly ConcurrentDictionary<string, int[]> _ids = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();
    private int _count;

    public SignalType Type { get; } = type;

    public int Count => Volatile.Read(ref _count);

    public void Add(int id, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_writeLock)
        {
            _ids[value] = _ids.TryGetValue(value, out var ids) ? [.. ids, id] : [id];
            Volatile.Write(ref _count, _count + 1);
        }
    }

    public bool Remove(int id, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        lock (_writeLock)
        {
            if (!_ids.TryGetValue(value, out var ids) || Array.IndexOf(ids, id) is var at && at < 0)
            {
                return false;
            }
            if (ids.Length == 1)
            {
                _ids.TryRemove(value, out _);
            }
            else
            {
                _ids[value] = [.. ids.AsSpan(0, at), .. ids.AsSpan(at + 1)];
            }
            Volatile.Write(ref _count, _count - 1);
            return true;
        }
    }

    public void Query(string value, int threshold, List<SignalMatch> results)
    {
        ArgumentNullException.ThrowIfNull(value);
        ArgumentNullException.ThrowIfNull(results);
        if (_ids.TryGetValue(value, out var ids))
        {
            foreach (var id in ids)
            {
                results.Add(new SignalMatch(id, 0));
            }
        }
    }
}
