namespace HashHub.Core.Matching;

/// <summary>
/// An in-memory index of PDQ hashes answering Hamming-radius queries, updated incrementally.
/// </summary>
/// <remarks>
/// Concurrency model shared by the implementations: any number of threads may query at the same time as one
/// thread at a time changes the index (<see cref="Add"/>, <see cref="Remove"/>); writers serialise on an
/// internal lock and readers never take it. A query that runs concurrently with a change may or may not see
/// that change, but always sees each other entry exactly once.
/// </remarks>
public interface IPdqMatchIndex
{
    /// <summary>The number of live entries (added and not removed).</summary>
    int Count { get; }

    /// <summary>Adds <paramref name="hash"/> under the caller's handle <paramref name="id"/>.</summary>
    /// <remarks>Ids are not checked for uniqueness; adding the same pair twice indexes it twice.</remarks>
    void Add(int id, in Hash256 hash);

    /// <summary>Removes one entry with this id and hash; false when there is none.</summary>
    /// <remarks>
    /// The hash is required so that no id-to-entry map is needed: such a map would cost more memory per signal
    /// than the index itself. The change log that drives removal always knows the signal's value.
    /// </remarks>
    bool Remove(int id, in Hash256 hash);

    /// <summary>
    /// Appends to <paramref name="results"/> every live entry within Hamming distance <paramref name="radius"/>
    /// (inclusive) of <paramref name="query"/>, each once, in no particular order.
    /// </summary>
    void Query(in Hash256 query, int radius, List<PdqMatch> results);
}
