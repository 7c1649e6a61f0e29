using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

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
    public static bool FoundEarlier(in Hash256 h, in Hash256 q, int chunk, ReadOnlySpan<int> sub, Vector256<short> subLanes)
    {
        if (!Avx2.IsSupported)
        {
            return FoundEarlier(h, q, chunk, sub);
        }
        // All 16 chunk distances at once: nibble-table popcount per byte, bytes added pairwise into 16-bit lanes,
        // one compare against the per-lane probe radius (-1 for an unprobed chunk never compares true).
        var x = Vector256.Create(h.Word0 ^ q.Word0, h.Word1 ^ q.Word1, h.Word2 ^ q.Word2, h.Word3 ^ q.Word3).AsByte();
        var low = Vector256.Create((byte)0x0F);
        var perByte = Avx2.Shuffle(NibbleCounts, x & low) + Avx2.Shuffle(NibbleCounts, Vector256.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
        var perChunk = (perByte.AsUInt16() & Vector256.Create((ushort)0xFF)) + Vector256.ShiftRightLogical(perByte.AsUInt16(), 8);
        var within = Vector256.LessThanOrEqual(perChunk.AsInt16(), subLanes).ExtractMostSignificantBits();
        return (within & EarlierLanes[chunk]) != 0;
    }

    /// <summary>The probe radii in 16-bit lane order (lane L of the hash vector holds chunk 4(L/4) + 3 - L%4).</summary>
    public static Vector256<short> SubLanes(ReadOnlySpan<int> sub)
    {
        Span<short> lanes = stackalloc short[Chunks];
        for (var lane = 0; lane < Chunks; lane++)
        {
            lanes[lane] = (short)sub[LaneChunk(lane)];
        }
        return Vector256.Create<short>(lanes);
    }

    private static int LaneChunk(int lane) => (4 * (lane >> 2)) + 3 - (lane & 3);

    private static readonly Vector256<byte> NibbleCounts =
        Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);

    // EarlierLanes[c]: the lanes whose chunk comes before chunk c.
    private static readonly uint[] EarlierLanes = Enumerable.Range(0, Chunks)
        .Select(c => Enumerable.Range(0, Chunks).Where(lane => LaneChunk(lane) < c).Aggregate(0u, (m, lane) => m | (1u << lane)))
        .ToArray();

    /// <summary>Scalar form of the check above.</summary>
    public static bool FoundEarlier(in Hash256 h, in Hash256 q, int chunk, ReadOnlySpan<int> sub) =>
        chunk > 0 && (AnyWithin(h.Word0 ^ q.Word0, 0, chunk, sub)
            || (chunk > 4 && (AnyWithin(h.Word1 ^ q.Word1, 4, chunk, sub)
                || (chunk > 8 && (AnyWithin(h.Word2 ^ q.Word2, 8, chunk, sub)
                    || (chunk > 12 && AnyWithin(h.Word3 ^ q.Word3, 12, chunk, sub)))))));

    // Chunks first..min(first + 4, end) all live in the one word x (the XOR of hash and query).
    private static bool AnyWithin(ulong x, int first, int end, ReadOnlySpan<int> sub)
    {
        var last = Math.Min(first + 4, end);
        for (var j = first; j < last; j++)
        {
            var bits = (uint)(x >> ((3 - (j & 3)) * ChunkBits)) & 0xFFFF;
            if (sub[j] >= 0 && BitOperations.PopCount(bits) <= sub[j])
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
