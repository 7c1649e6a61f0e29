using System.Runtime.InteropServices;
using HashHub.Core.Matching;

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
            hashes[i] = Flip(centres[i % centres.Length], rng.Next(41), rng);
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
            queries[i] = Flip(near, rng.Next(41), rng);
        }
        return queries;
    }

    private static void FillRandom(Hash256[] target, Random rng) => rng.NextBytes(MemoryMarshal.AsBytes(target.AsSpan()));

    private static Hash256 Flip(Hash256 hash, int bits, Random rng)
    {
        Span<ulong> chosen = stackalloc ulong[4];
        for (var flipped = 0; flipped < bits;)
        {
            var b = rng.Next(256);
            var mask = 1UL << (b & 63);
            if ((chosen[b >> 6] & mask) == 0)
            {
                chosen[b >> 6] |= mask;
                flipped++;
            }
        }
        return new Hash256(hash.Word0 ^ chosen[0], hash.Word1 ^ chosen[1], hash.Word2 ^ chosen[2], hash.Word3 ^ chosen[3]);
    }
}
