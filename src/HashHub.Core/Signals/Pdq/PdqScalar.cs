namespace HashHub.Core.Signals.Pdq;

/// <summary>
/// A direct scalar transcription of the PDQ hashing document's steps, in the reference's loop and float order:
/// the oracle for <see cref="PdqVectorized"/> and the baseline in the benchmarks. Not used on the hot path.
/// </summary>
internal static class PdqScalar
{
    /// <summary>The 16x16 DCT output and quality of an RGBA image (luma per <paramref name="grey"/>).</summary>
    public static int Dct16(ReadOnlySpan<byte> rgba, int width, int height, bool grey, Span<float> dct16X16)
    {
        var buffer64 = new float[64 * 64];
        Downsample64(rgba, width, height, grey, buffer64);
        var quality = PdqCommon.Quality(buffer64);
        Dct(buffer64, dct16X16);
        return quality;
    }

    /// <summary>Luma, two Jarosz passes (rows then columns, twice) on full-size buffers, and decimation to 64x64.</summary>
    public static void Downsample64(ReadOnlySpan<byte> rgba, int width, int height, bool grey, Span<float> buffer64)
    {
        var buffer1 = new float[width * height];
        var buffer2 = new float[width * height];
        Luma(rgba, grey, buffer1);

        var windowAlongRows = PdqCommon.WindowSize(width, 64);
        var windowAlongCols = PdqCommon.WindowSize(height, 64);
        for (var pass = 0; pass < PdqCommon.JaroszPasses; pass++)
        {
            for (var i = 0; i < height; i++)
            {
                Box1D(buffer1.AsSpan(i * width), buffer2.AsSpan(i * width), width, 1, windowAlongRows);
            }
            for (var j = 0; j < width; j++)
            {
                Box1D(buffer2.AsSpan(j), buffer1.AsSpan(j), height, width, windowAlongCols);
            }
        }

        for (var i = 0; i < 64; i++)
        {
            var ini = PdqCommon.DecimationIndex(i, height, 64);
            for (var j = 0; j < 64; j++)
            {
                buffer64[i * 64 + j] = buffer1[ini * width + PdqCommon.DecimationIndex(j, width, 64)];
            }
        }
    }

    public static void Luma(ReadOnlySpan<byte> rgba, bool grey, Span<float> luma)
    {
        for (var p = 0; p < luma.Length; p++)
        {
            luma[p] = grey
                ? rgba[p * 4]
                : PdqCommon.LumaR * rgba[p * 4] + PdqCommon.LumaG * rgba[p * 4 + 1] + PdqCommon.LumaB * rgba[p * 4 + 2];
        }
    }

    /// <summary>
    /// One box-filter pass along a vector (PDQ document, "Jarosz filter"): a running sum over a window centred on the
    /// output, shrunk at both ends. The running sum adds the entering sample and then subtracts the leaving one;
    /// float rounding depends on that order, so it is kept.
    /// </summary>
    public static void Box1D(ReadOnlySpan<float> input, Span<float> output, int length, int stride, int window)
    {
        var half = (window + 2) / 2;
        var phase1 = half - 1;
        var phase2 = window - half + 1;
        var phase3 = length - window;
        var phase4 = half - 1;
        var li = 0;
        var ri = 0;
        var oi = 0;
        var sum = 0f;
        var count = 0;
        for (var i = 0; i < phase1; i++)
        {
            sum += input[ri];
            count++;
            ri += stride;
        }
        for (var i = 0; i < phase2; i++)
        {
            sum += input[ri];
            count++;
            output[oi] = sum / count;
            ri += stride;
            oi += stride;
        }
        for (var i = 0; i < phase3; i++)
        {
            sum += input[ri];
            sum -= input[li];
            output[oi] = sum / count;
            li += stride;
            ri += stride;
            oi += stride;
        }
        for (var i = 0; i < phase4; i++)
        {
            sum -= input[li];
            count--;
            output[oi] = sum / count;
            li += stride;
            oi += stride;
        }
    }

    /// <summary>B = D A D^T with D the 16x64 DCT matrix, summing k = 0..63 in order as the reference does.</summary>
    public static void Dct(ReadOnlySpan<float> a64X64, Span<float> b16X16)
    {
        var d = PdqCommon.DctMatrix;
        Span<float> t = stackalloc float[16 * 64];
        for (var i = 0; i < 16; i++)
        {
            for (var j = 0; j < 64; j++)
            {
                var sum = 0f;
                for (var k = 0; k < 64; k++)
                {
                    sum += d[i * 64 + k] * a64X64[k * 64 + j];
                }
                t[i * 64 + j] = sum;
            }
        }
        for (var i = 0; i < 16; i++)
        {
            for (var j = 0; j < 16; j++)
            {
                var sum = 0f;
                for (var k = 0; k < 64; k++)
                {
                    sum += t[i * 64 + k] * d[j * 64 + k];
                }
                b16X16[i * 16 + j] = sum;
            }
        }
    }
}
