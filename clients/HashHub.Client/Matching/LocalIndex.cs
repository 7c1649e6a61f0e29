using HashHub.Client.Store;
using HashHub.Core.Matching;
using HashHub.Core.Signals;

namespace HashHub.Client.Matching;

/// <summary>
/// The in-memory match index over the store's active signals: Core's multi-index for PDQ and hash maps for md5,
/// sha256 and url. Loaded once at start, then changed only by committed pages (adds, and removals for retractions),
/// so it never holds a change the store rolled back.
/// </summary>
/// <remarks>Queries run concurrently with the one writer (the sync engine), as Core's indexes allow.</remarks>
internal sealed class LocalIndex
{
    private static readonly SignalType[] ExactTypes = [SignalTypes.Md5, SignalTypes.Sha256, SignalTypes.Url];

    private Indexes _current = Indexes.Empty();

    public int Count => Volatile.Read(ref _current).Count;

    /// <summary>Builds the index from the store's active signals (a bulk build for PDQ).</summary>
    public void Load(IEnumerable<(int Id, string Type, string Value)> active)
    {
        var ids = new List<int>();
        var hashes = new List<Hash256>();
        var next = Indexes.Empty(pdq: null);
        foreach (var (id, type, value) in active)
        {
            if (type == SignalTypes.Pdq.Name)
            {
                if (Hash256.TryParse(value, out var hash))
                {
                    ids.Add(id);
                    hashes.Add(hash);
                }
            }
            else if (next.Exact.TryGetValue(type, out var index))
            {
                index.Add(id, value);
            }
        }
        next = next with { Pdq = PdqMultiIndex.Build(ids.ToArray(), hashes.ToArray()) };
        Volatile.Write(ref _current, next);
    }

    /// <summary>Drops everything (a resync starts over).</summary>
    public void Reset() => Volatile.Write(ref _current, Indexes.Empty());

    public void Apply(IEnumerable<IndexChange> changes)
    {
        var current = Volatile.Read(ref _current);
        foreach (var change in changes)
        {
            if (change.Type == SignalTypes.Pdq.Name)
            {
                if (!Hash256.TryParse(change.Value, out var hash))
                {
                    continue;
                }
                if (change.Add)
                {
                    current.Pdq!.Add(change.Id, hash);
                }
                else
                {
                    current.Pdq!.Remove(change.Id, hash);
                }
            }
            else if (current.Exact.TryGetValue(change.Type, out var index))
            {
                if (change.Add)
                {
                    index.Add(change.Id, change.Value);
                }
                else
                {
                    index.Remove(change.Id, change.Value);
                }
            }
        }
    }

    /// <summary>Local ids within <paramref name="radius"/> of any of the PDQ hashes (the dihedral variants), each once at its smallest distance.</summary>
    public List<PdqMatch> QueryPdq(ReadOnlySpan<Hash256> hashes, int radius) =>
        Volatile.Read(ref _current).Pdq!.QueryAny(hashes, radius);

    /// <summary>Local ids holding exactly this canonical value of an exact type.</summary>
    public List<SignalMatch> QueryExact(string type, string value)
    {
        var results = new List<SignalMatch>();
        if (Volatile.Read(ref _current).Exact.TryGetValue(type, out var index))
        {
            index.Query(value, 0, results);
        }
        return results;
    }

    /// <summary>True when the index holds this value (tests and status).</summary>
    public bool Holds(string type, string value) => type == SignalTypes.Pdq.Name
        ? Hash256.TryParse(value, out var hash) && QueryPdq([hash], 0).Count > 0
        : QueryExact(type, value).Count > 0;

    private sealed record Indexes(PdqMultiIndex? Pdq, Dictionary<string, ISignalIndex> Exact)
    {
        public int Count => (Pdq?.Count ?? 0) + Exact.Values.Sum(i => i.Count);

        public static Indexes Empty() => Empty(new PdqMultiIndex());

        public static Indexes Empty(PdqMultiIndex? pdq) =>
            new(pdq, ExactTypes.ToDictionary(t => t.Name, SignalIndex.Create, StringComparer.Ordinal));
    }
}
