namespace HashHub.Core.Matching;

/// <summary>One indexed hash within the query radius: the caller's id and the Hamming distance to the query.</summary>
/// <param name="Id">The handle the caller gave when adding the hash.</param>
/// <param name="Distance">Hamming distance to the query, 0-256.</param>
public readonly record struct PdqMatch(int Id, int Distance);
