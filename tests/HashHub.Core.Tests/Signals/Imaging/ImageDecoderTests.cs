using HashHub.Core.Signals.Imaging;
using HashHub.Core.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Imaging;

public sealed class ImageDecoderTests
{
    private static string PathOf(string name) => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "imaging", name);

    /// <summary>
    /// The TestData/imaging/*16*.png files are 16-bit PNGs (made by a small script; every scanline filter type in
    /// turn, two with Adam7 interlacing) whose pixel (x, y) has r = (x*4099 + y*131) mod 65536, g = 65535 - r,
    /// b = (x*257 + 128*(y mod 2)) mod 65536, alpha = (x*y*1000 + 77) mod 65536; grey images use r.
    /// </summary>
    [TestCase("rgb16.png", 2)]
    [TestCase("rgba16-adam7.png", 6)]
    [TestCase("grey16.png", 0)]
    [TestCase("greyalpha16-adam7.png", 4)]
    public void DecodeFile_SixteenBitPng_RoundsValueOver257(string file, int pngColorType)
    {
        using var image = ImageDecoder.DecodeFile(PathOf(file));

        var rgba = image.Rgba.ToArray();
        var differsFromHighByte = false;
        for (var y = 0; y < image.Height; y++)
        {
            for (var x = 0; x < image.Width; x++)
            {
                var r = (x * 4099 + y * 131) & 0xFFFF;
                var g = 65535 - r;
                var b = (x * 257 + 128 * (y % 2)) & 0xFFFF;
                var a = (x * y * 1000 + 77) & 0xFFFF;
                int[] expected16 = pngColorType switch
                {
                    0 => [r, r, r, 65535],
                    2 => [r, g, b, 65535],
                    4 => [r, r, r, a],
                    _ => [r, g, b, a],
                };
                for (var c = 0; c < 4; c++)
                {
                    Assert.That(rgba[(y * image.Width + x) * 4 + c], Is.EqualTo((expected16[c] + 128) / 257), $"pixel ({x}, {y}) channel {c}");
                    differsFromHighByte |= (expected16[c] + 128) / 257 != expected16[c] >> 8;
                }
            }
        }
        Assert.That(differsFromHighByte, Is.True, "the image must tell rounding from taking the high byte");
    }

    [Test]
    public void Decode_NonSeekableStream_SameAsFile()
    {
        var bytes = File.ReadAllBytes(PathOf("rgba16-adam7.png"));
        using var fromFile = ImageDecoder.DecodeFile(PathOf("rgba16-adam7.png"));
        using var fromStream = ImageDecoder.Decode(new ForwardOnlyStream(bytes), "upload");

        Assert.That(fromStream.Rgba.ToArray(), Is.EqualTo(fromFile.Rgba.ToArray()));
    }

    [Test]
    public void HashImage_NonSeekableJpegStream_SameAsFile()
    {
        var path = Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "pdq-vectors", "images", "pdq-data", "misc-images", "wee.jpg");

        var fromStream = PdqHasher.HashImage(new ForwardOnlyStream(File.ReadAllBytes(path)));

        Assert.That(fromStream, Is.EqualTo(PdqHasher.HashFile(path)));
    }

    [Test]
    public void DecodeFile_TruncatedSixteenBitPng_ThrowsImageDecodeException()
    {
        var bytes = File.ReadAllBytes(PathOf("rgb16.png"));
        var path = Path.Combine(Path.GetTempPath(), $"hashhub-truncated16-{Guid.NewGuid():N}.png");
        File.WriteAllBytes(path, bytes.AsSpan(0, 60).ToArray());
        try
        {
            var ex = Assert.Throws<ImageDecodeException>(() => ImageDecoder.DecodeFile(path));
            Assert.That(ex!.Message, Does.Contain(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>A read-only stream that cannot seek, like a network upload.</summary>
    private sealed class ForwardOnlyStream(byte[] data) : Stream
    {
        private int _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var n = Math.Min(count, data.Length - _position);
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
