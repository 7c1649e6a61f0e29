using HashHub.Core.Signals;

namespace HashHub.Core.Matching;

/// <summary>One indexed value that matched: the caller's id and the type's distance to the query.</summary>
/// <param name="Id">The handle the caller gave when adding the value.</param>
/// <param name="Distance">The signal type's distance to the query (0 for an exact match).</param>
public readonly record struct SignalMatch(int Id, int Distance);

/// <summary>
/// A match index for one signal type, over canonical values (as <see cref="SignalType.TryNormalize"/> returns).
/// Same concurrency model as <see cref="IPdqMatchIndex"/>: concurrent queries, one writer at a time.
/// </summary>
public interface ISignalIndex
{
    /// <summary>The signal type whose values this index holds.</summary>
    SignalType Type { get; }

    /// <summary>The number of live entries.</summary>
    int Count { get; }

    /// <summary>Adds a canonical value under the caller's handle.</summary>
    void Add(int id, string value);

    /// <summary>Removes one entry with this id and value; false when there is none.</summary>
    bool Remove(int id, string value);

    /// <summary>Appends every live entry within <paramref name="threshold"/> (inclusive) of the canonical <paramref name="value"/>.</summary>
    void Query(string value, int threshold, List<SignalMatch> results);
}

/// <summary>Chooses the index for a signal type.</summary>
public static class SignalIndex
{
    /// <summary>
    /// PDQ gets the multi-index; types whose default threshold is 0 (md5, sha256 and other exact digests) get a
    /// hash map; any other type (PhotoDNA-like) gets a linear scan over its own distance, which works for any
    /// distance the type defines.
    /// </summary>
    public static ISignalIndex Create(SignalType type)
    {
        ArgumentNullException.ThrowIfNull(type);
        return type switch
        {
            PdqSignalType => new PdqSignalIndex(type),
            { DefaultMatchThreshold: 0 } => new ExactSignalIndex(type),
            _ => new LinearSignalIndex(type),
        };
    }
}

/// <summary>The PDQ multi-index behind the generic interface: parses values once, at the edge.</summary>
internal sealed class PdqSignalIndex(SignalType type) : ISignalIndex
{
    private readonly PdqMultiIndex _index = new();

    public SignalType Type { get; } = type;

    public int Count => _index.Count;

    public void Add(int id, string value) => _index.Add(id, Hash256.Parse(value));

    public bool Remove(int id, string value) => _index.Remove(id, Hash256.Parse(value));

    public void Query(string value, int threshold, List<SignalMatch> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var matches = new List<PdqMatch>();
        _index.Query(Hash256.Parse(value), threshold, matches);
        foreach (var m in matches)
        {
            results.Add(new SignalMatch(m.Id, m.Distance));
        }
    }
}
