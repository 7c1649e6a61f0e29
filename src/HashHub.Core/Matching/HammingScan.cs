using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace HashHub.Core.Matching;

/// <summary>The SIMD linear scan: the test oracle, and the fallback for radii where multi-index hashing does not pay.</summary>
internal static class HammingScan
{
    /// <summary>
    /// Appends every entry of <paramref name="hashes"/> within <paramref name="radius"/> of the query whose
    /// tombstone bit is clear (no tombstones when <paramref name="tombstones"/> is empty).
    /// </summary>
    public static void Scan(
        ReadOnlySpan<Hash256> hashes, ReadOnlySpan<int> ids, ReadOnlySpan<ulong> tombstones, in Hash256 query, int radius,
        List<PdqMatch> results)
    {
        ref var words = ref MemoryMarshal.GetReference(MemoryMarshal.Cast<Hash256, ulong>(hashes));
        var q = Vector256.Create(query.Word0, query.Word1, query.Word2, query.Word3);
        var n = hashes.Length;
        var i = 0;
        if (Avx2.IsSupported)
        {
            // .NET exposes no VPOPCNTQ, so this is the AVX2 nibble-table popcount (Mula, Kurz and Lemire,
            // "Faster population counts using AVX2 instructions"): four hashes per iteration, each one 256-bit
            // vector; byte counts are summed per 64-bit lane with VPSADBW, and the four lane sums of the four
            // hashes are transposed and added so one compare tests all four distances.
            var lut = Vector256.Create((byte)0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
            var low = Vector256.Create((byte)0x0F);
            var limit = Vector256.Create((ulong)radius);
            for (; i + 4 <= n; i += 4)
            {
                var c0 = LaneCounts(Vector256.LoadUnsafe(ref words, (nuint)i * 4) ^ q, lut, low);
                var c1 = LaneCounts(Vector256.LoadUnsafe(ref words, (nuint)(i + 1) * 4) ^ q, lut, low);
                var c2 = LaneCounts(Vector256.LoadUnsafe(ref words, (nuint)(i + 2) * 4) ^ q, lut, low);
                var c3 = LaneCounts(Vector256.LoadUnsafe(ref words, (nuint)(i + 3) * 4) ^ q, lut, low);
                var t01 = Avx2.UnpackLow(c0, c1) + Avx2.UnpackHigh(c0, c1);
                var t23 = Avx2.UnpackLow(c2, c3) + Avx2.UnpackHigh(c2, c3);
                var d = Avx2.Permute2x128(t01, t23, 0x20) + Avx2.Permute2x128(t01, t23, 0x31);
                var hits = Vector256.LessThanOrEqual(d, limit).ExtractMostSignificantBits();
                while (hits != 0)
                {
                    var k = BitOperations.TrailingZeroCount(hits);
                    Report(ids, tombstones, i + k, (int)d.GetElement(k), results);
                    hits &= hits - 1;
                }
            }
        }
        for (; i < n; i++)
        {
            var x = Vector256.LoadUnsafe(ref words, (nuint)i * 4) ^ q;
            var d = BitOperations.PopCount(x.GetElement(0)) + BitOperations.PopCount(x.GetElement(1))
                + BitOperations.PopCount(x.GetElement(2)) + BitOperations.PopCount(x.GetElement(3));
            if (d <= radius)
            {
                Report(ids, tombstones, i, d, results);
            }
        }
    }

    // Per 64-bit lane bit counts of x (each lane's count in the low bits of that lane).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<ulong> LaneCounts(Vector256<ulong> x, Vector256<byte> lut, Vector256<byte> low)
    {
        var bytes = x.AsByte();
        var lo = Avx2.Shuffle(lut, bytes & low);
        var hi = Avx2.Shuffle(lut, Vector256.ShiftRightLogical(x.AsUInt16(), 4).AsByte() & low);
        return Avx2.SumAbsoluteDifferences(lo + hi, Vector256<byte>.Zero).AsUInt64();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Report(ReadOnlySpan<int> ids, ReadOnlySpan<ulong> tombstones, int i, int d, List<PdqMatch> results)
    {
        if (tombstones.IsEmpty || !Tombstones.IsSet(tombstones, i))
        {
            results.Add(new PdqMatch(ids[i], d));
        }
    }
}

/// <summary>Bit sets marking removed entries; written by the single writer only, read by any thread.</summary>
internal static class Tombstones
{
    public static ulong[] Create(int capacity) => new ulong[(capacity + 63) >> 6];

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSet(ReadOnlySpan<ulong> bits, int i) => (bits[i >> 6] & (1UL << (i & 63))) != 0;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSet(ulong[] bits, int i) => (Volatile.Read(ref bits[i >> 6]) & (1UL << (i & 63))) != 0;

    /// <summary>Sets bit <paramref name="i"/>. Only the writer (under its lock) calls this, so a plain read-modify-write is safe.</summary>
    public static void Set(ulong[] bits, int i) => Volatile.Write(ref bits[i >> 6], bits[i >> 6] | (1UL << (i & 63)));
}
