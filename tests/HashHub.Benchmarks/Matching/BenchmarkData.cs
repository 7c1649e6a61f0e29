using System.Runtime.InteropServices;
using HashHub.Core.Matching;
using HashHub.Core.Tests.Matching;

namespace HashHub.Benchmarks.Matching;

/// <summary>Seeded synthetic PDQ lists and queries for the matching benchmarks.</summary>
internal static class BenchmarkData
{
    /// <summary>Members per cluster in the clustered lists.</summary>
    public const int ClusterSize = 1000;

    /// <summary>
    /// "random": uniform hashes. "clustered": size / 1000 centres, each with 1,000 near-duplicates at a uniform
    /// distance of 0..40 bits, as re-encoded copies of the same takedown look; their chunks pile up in the
    /// centres' buckets, so buckets are far from uniform.
    /// </summary>
    public static Hash256[] Hashes(string kind, int size, out Hash256[] centres)
    {
        var rng = new Random(size ^ kind.Length);
        var hashes = new Hash256[size];
        if (kind == "random")
        {
            centres = [];
            FillRandom(hashes, rng);
            return hashes;
        }
        centres = new Hash256[Math.Max(1, size / ClusterSize)];
        FillRandom(centres, rng);
        for (var i = 0; i < size; i++)
        {
            hashes[i] = SyntheticHashes.Flip(centres[i % centres.Length], rng.Next(41), rng);
        }
        return hashes;
    }

    /// <summary>
    /// Half the queries are re-encodings of a stored hash (random data) or of a centre (clustered data), at
    /// 0..40 bits; half are unrelated images, the common case for an upload check.
    /// </summary>
    public static Hash256[] Queries(Hash256[] hashes, Hash256[] centres, int count)
    {
        var rng = new Random(12345);
        var queries = new Hash256[count];
        FillRandom(queries, rng);
        for (var i = 0; i < count; i += 2)
        {
            var near = centres.Length > 0 ? centres[rng.Next(centres.Length)] : hashes[rng.Next(hashes.Length)];
            queries[i] = SyntheticHashes.Flip(near, rng.Next(41), rng);
        }
        return queries;
    }

    private static void FillRandom(Hash256[] target, Random rng) => rng.NextBytes(MemoryMarshal.AsBytes(target.AsSpan()));
}
