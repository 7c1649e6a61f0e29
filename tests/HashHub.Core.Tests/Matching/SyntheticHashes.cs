using System.Runtime.InteropServices;
using HashHub.Core.Matching;

namespace HashHub.Core.Tests.Matching;

/// <summary>Seeded random and clustered PDQ-like data for the property tests.</summary>
internal static class SyntheticHashes
{
    public static Hash256 Random(Random rng)
    {
        Span<byte> bytes = stackalloc byte[32];
        rng.NextBytes(bytes);
        var w = MemoryMarshal.Cast<byte, ulong>(bytes);
        return new Hash256(w[0], w[1], w[2], w[3]);
    }

    /// <summary><paramref name="hash"/> with exactly <paramref name="bits"/> distinct random bits flipped.</summary>
    public static Hash256 Flip(Hash256 hash, int bits, Random rng)
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

    public static Hash256[] RandomSet(int n, Random rng)
    {
        var result = new Hash256[n];
        for (var i = 0; i < n; i++)
        {
            result[i] = Random(rng);
        }
        return result;
    }

    /// <summary>Near-duplicates at distances 0..40 from a few centres, as takedowns of re-encoded copies look.</summary>
    public static Hash256[] ClusteredSet(int n, int centres, Random rng, out Hash256[] centreHashes)
    {
        centreHashes = RandomSet(centres, rng);
        var result = new Hash256[n];
        for (var i = 0; i < n; i++)
        {
            result[i] = Flip(centreHashes[i % centres], rng.Next(41), rng);
        }
        return result;
    }
}
