namespace HashHub.Core.Matching;

/// <summary>Queries built on <see cref="IPdqMatchIndex"/>.</summary>
public static class PdqMatchIndexExtensions
{
    /// <summary>Returns the live entries within <paramref name="radius"/> of <paramref name="query"/>.</summary>
    public static List<PdqMatch> Query(this IPdqMatchIndex index, in Hash256 query, int radius)
    {
        ArgumentNullException.ThrowIfNull(index);
        var results = new List<PdqMatch>();
        index.Query(query, radius, results);
        return results;
    }

    /// <summary>
    /// Queries several hashes at once, typically the eight dihedral variants of one image (rotations and
    /// flips), and returns each matching id once with its smallest distance to any of them.
    /// </summary>
    public static List<PdqMatch> QueryAny(this IPdqMatchIndex index, ReadOnlySpan<Hash256> queries, int radius)
    {
        ArgumentNullException.ThrowIfNull(index);
        var buffer = new List<PdqMatch>();
        foreach (var q in queries)
        {
            index.Query(q, radius, buffer);
        }
        if (queries.Length <= 1)
        {
            return buffer;
        }
        var best = new Dictionary<int, int>(buffer.Count);
        foreach (var m in buffer)
        {
            if (!best.TryGetValue(m.Id, out var d) || m.Distance < d)
            {
                best[m.Id] = m.Distance;
            }
        }
        var results = new List<PdqMatch>(best.Count);
        foreach (var (id, d) in best)
        {
            results.Add(new PdqMatch(id, d));
        }
        return results;
    }
}
