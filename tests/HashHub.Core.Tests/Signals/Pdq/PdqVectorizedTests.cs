using HashHub.Core.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Pdq;

/// <summary>
/// The vectorised pipeline must give bit-identical DCT outputs (not only hashes) to the scalar transcription, on sizes
/// that exercise every edge: vector tails, 8x8 transpose edges, windows of 1, duplicated decimation indices (sides
/// under 64 px), and odd aspect ratios.
/// </summary>
public sealed class PdqVectorizedTests
{
    [TestCase(5, 5)]
    [TestCase(5, 300)]
    [TestCase(9, 1000)]
    [TestCase(2000, 33)]
    [TestCase(7, 13)]
    [TestCase(34, 42)]
    [TestCase(63, 65)]
    [TestCase(64, 64)]
    [TestCase(100, 37)]
    [TestCase(129, 257)]
    [TestCase(513, 300)]
    [TestCase(1000, 9)]
    [TestCase(1024, 768)]
    public void Dct16_RandomImage_BitIdenticalToScalar(int width, int height)
    {
        var random = new Random(width * 10007 + height);
        var rgba = new byte[width * height * 4];
        random.NextBytes(rgba);
        // Smooth-ish content as well as noise: add a gradient so sums are not all near the mean.
        for (var p = 0; p < width * height; p++)
        {
            rgba[p * 4] = (byte)((rgba[p * 4] / 4) + (p % width) * 191 / width);
        }

        foreach (var grey in new[] { false, true })
        {
            var expected = new float[256];
            var actual = new float[256];
            var expectedQuality = PdqScalar.Dct16(rgba, width, height, grey, expected);
            var actualQuality = PdqVectorized.Dct16(rgba, width, height, grey, actual);

            Assert.That(actualQuality, Is.EqualTo(expectedQuality));
            Assert.That(actual.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)));
        }
    }

    [TestCase(5, 5)]
    [TestCase(9, 1000)]
    [TestCase(2000, 33)]
    [TestCase(34, 42)]
    [TestCase(129, 257)]
    [TestCase(513, 300)]
    [TestCase(1024, 768)]
    public void Downsample64_Streaming_BitIdenticalToScalar(int width, int height)
    {
        var random = new Random(width * 31 + height);
        var rgba = new byte[width * height * 4];
        random.NextBytes(rgba);
        var expected = new float[64 * 64];
        var streamed = new float[64 * 64];

        PdqScalar.Downsample64(rgba, width, height, grey: false, expected);
        PdqStreaming.Downsample64(rgba, width, height, grey: false, streamed);

        Assert.That(streamed.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.Select(BitConverter.SingleToInt32Bits)));
    }

    [TestCase(8, 8)]
    [TestCase(17, 9)]
    [TestCase(64, 40)]
    public void Transpose_AnySize_MovesEveryValue(int rows, int cols)
    {
        var src = Enumerable.Range(0, rows * cols).Select(i => (float)i).ToArray();
        var dst = new float[rows * cols];

        PdqVectorized.Transpose(src, dst, rows, cols);

        for (var i = 0; i < rows; i++)
        {
            for (var j = 0; j < cols; j++)
            {
                Assert.That(dst[j * rows + i], Is.EqualTo(src[i * cols + j]));
            }
        }
    }

    [TestCase(1)]
    [TestCase(8)]
    [TestCase(13)]
    [TestCase(64)]
    public void IsGrey_OneColouredPixelAnywhere_ReturnsFalse(int pixels)
    {
        var rgba = new byte[pixels * 4];
        for (var p = 0; p < pixels; p++)
        {
            rgba[p * 4] = rgba[p * 4 + 1] = rgba[p * 4 + 2] = (byte)(p * 37);
            rgba[p * 4 + 3] = (byte)p; // alpha never matters
        }
        Assert.That(PdqCommon.IsGrey(rgba), Is.True);

        for (var p = 0; p < pixels; p++)
        {
            for (var c = 0; c < 3; c++)
            {
                var copy = (byte[])rgba.Clone();
                copy[p * 4 + c] ^= 1;
                Assert.That(PdqCommon.IsGrey(copy), Is.False, $"pixel {p} channel {c}");
            }
        }
    }
}
