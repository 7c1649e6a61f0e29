using System.Numerics;
using System.Runtime.CompilerServices;

namespace HashHub.Core.Matching;

/// <summary>
/// The chunking shared by the base and the delta: 256 bits as 16 chunks of 16 bits, and the probe plan.
/// </summary>
internal static class MihLayout
{
    public const int Chunks = 16;
    public const int ChunkBits = 16;
    public const int Buckets = 1 << ChunkBits;

    /// <summary>All 16-bit flip masks ordered by popcount, so the neighbours within radius s are the first MaskCount[s].</summary>
    public static readonly ushort[] Masks = CreateMasks();

    /// <summary>MaskCount[s] = number of 16-bit values within Hamming distance s of a value (sum of C(16, k), k &lt;= s).</summary>
    public static readonly int[] MaskCount = CreateMaskCounts();

    /// <summary>Chunk <paramref name="c"/> of the hash: chunk 0 is the top 16 bits of word 0 (the first four hex digits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Chunk(in Hash256 h, int c) => (int)((h.GetWord(c >> 2) >> ((3 - (c & 3)) * ChunkBits)) & 0xFFFF);

    /// <summary>
    /// Fills the probe radius of each chunk for a query radius r (-1: do not probe that chunk).
    /// With r = 16q + a, a hash within r agrees within q bits on one of chunks 0..a, or within q-1 bits on one of
    /// the others: otherwise its distance would be at least (a+1)(q+1) + (15-a)q = r + 1 (pigeonhole, as refined
    /// by Norouzi, Punjani and Fleet, "Fast search in Hamming space with multi-index hashing"). So radius 31 probes
    /// every chunk at 1 bit, and radius 15 probes every chunk exactly.
    /// </summary>
    public static void PlanProbes(int radius, Span<int> sub)
    {
        var q = radius / Chunks;
        var a = radius % Chunks;
        for (var c = 0; c < Chunks; c++)
        {
            sub[c] = Math.Min(ChunkBits, c <= a ? q : q - 1);
        }
    }

    /// <summary>
    /// True when some chunk before <paramref name="chunk"/> would also have found this hash: the probe then
    /// reports it there, which removes duplicates without a hash set (only matches pay for the check).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool FoundEarlier(in Hash256 h, in Hash256 q, int chunk, ReadOnlySpan<int> sub)
    {
        for (var j = 0; j < chunk; j++)
        {
            if (sub[j] >= 0 && BitOperations.PopCount((uint)(Chunk(h, j) ^ Chunk(q, j))) <= sub[j])
            {
                return true;
            }
        }
        return false;
    }

    private static ushort[] CreateMasks()
    {
        var masks = new ushort[Buckets];
        var n = 0;
        for (var k = 0; k <= ChunkBits; k++)
        {
            for (var v = 0; v < Buckets; v++)
            {
                if (BitOperations.PopCount((uint)v) == k)
                {
                    masks[n++] = (ushort)v;
                }
            }
        }
        return masks;
    }

    private static int[] CreateMaskCounts()
    {
        var counts = new int[ChunkBits + 1];
        var total = 0;
        for (var k = 0; k <= ChunkBits; k++)
        {
            var c = 1;
            for (var i = 0; i < k; i++)
            {
                c = c * (ChunkBits - i) / (i + 1);
            }
            total += c;
            counts[k] = total;
        }
        return counts;
    }
}
