using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace HashHub.Core.Signals.Pdq;

/// <summary>
/// The steps of PDQ that the scalar reference port and the vectorised pipeline share: colour to luma, the
/// reference CLI's 512x512 pre-squash, filter window sizes, quality, DCT matrix, median and bit extraction.
/// Every float operation is written in the reference's order and precision (float32, separate multiply and add),
/// since the hash must match Meta's reference bit for bit.
/// </summary>
internal static class PdqCommon
{
    /// <summary>The reference does not hash images with a side under 5 px: zero hash, quality 0.</summary>
    public const int MinHashableDimension = 5;

    /// <summary>The pre-squash size of the reference CLI (<c>pdq-photo-hasher</c>).</summary>
    public const int CliDownsampleDimension = 512;

    /// <summary>Two Jarosz passes (rows then columns, twice) approximate a tent filter (PDQ document, "Downsampling").</summary>
    public const int JaroszPasses = 2;

    // ITU-R BT.601 luma weights, stored as float like the reference's `static float luma_from_R_coeff = 0.299`.
    public const float LumaR = 0.299f;
    public const float LumaG = 0.587f;
    public const float LumaB = 0.114f;

    /// <summary>
    /// True when every pixel has R = G = B. The reference decodes through ImageMagick, which then writes a PGM,
    /// and the reference uses luma = grey value instead of the weighted sum (the two differ in float32).
    /// </summary>
    public static bool IsGrey(ReadOnlySpan<byte> rgba)
    {
        var p = 0;
        if (Vector256.IsHardwareAccelerated && BitConverter.IsLittleEndian)
        {
            // Eight pixels at a time: R == G == B when (pixel & 0xFFFFFF) == R * 0x010101.
            var pixels = MemoryMarshal.Cast<byte, uint>(rgba);
            var rgb = Vector256.Create(0xFFFFFFu);
            var red = Vector256.Create(0xFFu);
            var spread = Vector256.Create(0x010101u);
            for (; p + 8 <= pixels.Length; p += 8)
            {
                var v = Vector256.Create(pixels.Slice(p, 8));
                if (!Vector256.EqualsAll(v & rgb, (v & red) * spread))
                {
                    return false;
                }
            }
            p *= 4;
        }
        for (; p < rgba.Length; p += 4)
        {
            if (rgba[p] != rgba[p + 1] || rgba[p] != rgba[p + 2])
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>
    /// The reference CLI's pre-squash: CImg nearest-neighbour resize to exactly 512x512 when either side is over
    /// 512, aspect ratio not kept; source index = floor(dst * srcDim / 512).
    /// </summary>
    public static void SquashTo512(ReadOnlySpan<byte> rgba, int width, int height, Span<byte> output)
    {
        const int n = CliDownsampleDimension;
        Span<int> srcX = stackalloc int[n];
        for (var x = 0; x < n; x++)
        {
            srcX[x] = (int)((long)x * width / n);
        }
        for (var y = 0; y < n; y++)
        {
            var srcRow = rgba.Slice((int)((long)y * height / n) * width * 4, width * 4);
            var dstRow = output.Slice(y * n * 4, n * 4);
            for (var x = 0; x < n; x++)
            {
                srcRow.Slice(srcX[x] * 4, 4).CopyTo(dstRow.Slice(x * 4, 4));
            }
        }
    }

    /// <summary>Jarosz window: the reference's computeJaroszFilterWindowSize, (old + 2*new - 1) / (2*new) in ints.</summary>
    public static int WindowSize(int oldDimension, int newDimension) =>
        (oldDimension + 2 * newDimension - 1) / (2 * newDimension);

    /// <summary>The source index the reference's decimateFloat samples for output index <paramref name="i"/> (computed in double).</summary>
    public static int DecimationIndex(int i, int inDimension, int outDimension) =>
        (int)((i + 0.5) * inDimension / outDimension);

    /// <summary>
    /// The image-domain quality metric (PDQ document, "Quality metric"): the sum of truncated absolute differences
    /// of neighbouring samples of the 64x64 downsample, scaled by 100/255, divided by 90 and capped at 100.
    /// </summary>
    public static int Quality(ReadOnlySpan<float> buffer64X64)
    {
        var gradientSum = 0;
        for (var i = 0; i < 63; i++)
        {
            for (var j = 0; j < 64; j++)
            {
                var u = buffer64X64[i * 64 + j];
                var v = buffer64X64[(i + 1) * 64 + j];
                var d = (int)((u - v) * 100f / 255f);
                gradientSum += Math.Abs(d);
            }
        }
        for (var i = 0; i < 64; i++)
        {
            for (var j = 0; j < 63; j++)
            {
                var u = buffer64X64[i * 64 + j];
                var v = buffer64X64[i * 64 + j + 1];
                var d = (int)((u - v) * 100f / 255f);
                gradientSum += Math.Abs(d);
            }
        }
        return Math.Min(gradientSum / 90, 100);
    }

    /// <summary>
    /// Rows 1-16 of the 64-point DCT-II matrix (row 0, the DC term, is not used by PDQ), as the reference builds it:
    /// the scale sqrt(2/64) is rounded to float first, then multiplied in double by cos(pi/2/64 * (i+1) * (2j+1)),
    /// and the product is stored as float. Rounding the scale to float matters: a double scale moves DCT outputs by
    /// an ulp (found with the reference's dumped intermediates).
    /// </summary>
    public static readonly float[] DctMatrix = BuildDctMatrix();

    private static float[] BuildDctMatrix()
    {
        var d = new float[16 * 64];
        double scale = (float)Math.Sqrt(2.0 / 64.0);
        for (var i = 0; i < 16; i++)
        {
            for (var j = 0; j < 64; j++)
            {
                d[i * 64 + j] = (float)(scale * Math.Cos(Math.PI / 2 / 64.0 * (i + 1) * (2 * j + 1)));
            }
        }
        return d;
    }

    /// <summary>
    /// The reference's median of the 256 DCT outputs (Torben's method): with an even count it returns the lower
    /// median, the 128th smallest value, which is what sorting and taking index 127 gives.
    /// </summary>
    public static float Median(ReadOnlySpan<float> values)
    {
        Span<float> sorted = stackalloc float[values.Length];
        values.CopyTo(sorted);
        sorted.Sort();
        return sorted[(values.Length + 1) / 2 - 1];
    }

    /// <summary>Bit i*16+j is set when B[i][j] is strictly greater than the median of B (PDQ document, "Hash output").</summary>
    public static PdqHash ToHash(ReadOnlySpan<float> dct16X16)
    {
        var median = Median(dct16X16);
        Span<ushort> words = stackalloc ushort[16];
        for (var i = 0; i < 16; i++)
        {
            var word = 0;
            for (var j = 0; j < 16; j++)
            {
                if (dct16X16[i * 16 + j] > median)
                {
                    word |= 1 << j;
                }
            }
            words[i] = (ushort)word;
        }
        return PdqHash.FromWords(words);
    }

    /// <summary>
    /// The eight dihedral hashes from one DCT (PDQ document, "Dihedral-transform hashes"): a rotation or flip of the
    /// image transposes and/or negates alternate DCT coefficients, so no re-hashing is needed. Coefficient (i, j)
    /// here is frequency (i+1, j+1), so "odd frequency" means an even index.
    /// </summary>
    public static PdqDihedralHashes Dihedral(ReadOnlySpan<float> b, int quality)
    {
        Span<float> t = stackalloc float[256];
        PdqHash Transform(ReadOnlySpan<float> a, Span<float> t, bool transpose, Func<int, int, bool> negate)
        {
            for (var i = 0; i < 16; i++)
            {
                for (var j = 0; j < 16; j++)
                {
                    var v = negate(i, j) ? -a[i * 16 + j] : a[i * 16 + j];
                    t[transpose ? j * 16 + i : i * 16 + j] = v;
                }
            }
            return ToHash(t);
        }

        return new PdqDihedralHashes(
            Original: ToHash(b),
            Rotate90: Transform(b, t, transpose: true, (_, j) => (j & 1) == 0),
            Rotate180: Transform(b, t, transpose: false, (i, j) => ((i + j) & 1) != 0),
            Rotate270: Transform(b, t, transpose: true, (i, _) => (i & 1) == 0),
            FlipX: Transform(b, t, transpose: false, (i, _) => (i & 1) == 0),
            FlipY: Transform(b, t, transpose: false, (_, j) => (j & 1) == 0),
            FlipPlus1: Transform(b, t, transpose: true, (_, _) => false),
            FlipMinus1: Transform(b, t, transpose: true, (i, j) => ((i + j) & 1) != 0),
            Quality: quality);
    }
}
