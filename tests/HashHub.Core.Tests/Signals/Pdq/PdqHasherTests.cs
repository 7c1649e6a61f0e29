using HashHub.Core.Signals.Imaging;
using HashHub.Core.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Pdq;

public sealed class PdqHasherTests
{
    [Test]
    public void HashFile_CorruptFile_ThrowsImageDecodeExceptionNamingFile()
    {
        var path = Path.Combine(Path.GetTempPath(), $"hashhub-corrupt-{Guid.NewGuid():N}.jpg");
        File.WriteAllBytes(path, [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07]);
        try
        {
            var ex = Assert.Throws<ImageDecodeException>(() => PdqHasher.HashFile(path));
            Assert.That(ex!.Message, Does.Contain(path));
            Assert.That(ex.Source, Is.EqualTo(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void HashFile_TruncatedJpeg_ThrowsImageDecodeException()
    {
        var bytes = File.ReadAllBytes(PdqVectors.PathOf("images/pdq-data/bridge-mods/square-256x256.jpg"));
        var path = Path.Combine(Path.GetTempPath(), $"hashhub-truncated-{Guid.NewGuid():N}.jpg");
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 3).ToArray());
        try
        {
            var ex = Assert.Throws<ImageDecodeException>(() => PdqHasher.HashFile(path));
            Assert.That(ex!.Message, Does.Contain(path).And.Contain("truncated"));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void HashImage_NotAnImage_ThrowsImageDecodeExceptionNamingSource()
    {
        using var stream = new MemoryStream("this is not an image"u8.ToArray());

        var ex = Assert.Throws<ImageDecodeException>(() => PdqHasher.HashImage(stream, sourceName: "upload-42"));

        Assert.That(ex!.Message, Does.StartWith("Cannot decode image 'upload-42'"));
    }

    [Test]
    public void HashFile_MissingFile_ThrowsFileNotFound() =>
        Assert.That(() => PdqHasher.HashFile(PdqVectors.PathOf("no-such.jpg")), Throws.InstanceOf<FileNotFoundException>());

    [Test]
    public void Hash_WrongBufferLength_ThrowsArgumentException() =>
        Assert.That(() => PdqHasher.Hash(new byte[10], 2, 2), Throws.ArgumentException);

    [TestCase(4, 100)]
    [TestCase(100, 4)]
    public void Hash_SideUnderFivePixels_ReturnsZeroHashAndQuality(int width, int height)
    {
        var result = PdqHasher.Hash(new byte[width * height * 4], width, height);

        Assert.That(result, Is.EqualTo(new PdqResult(PdqHash.Zero, 0)));
    }

    [Test]
    public void Hash_FlatImage_HasQualityZero()
    {
        var rgba = new byte[64 * 64 * 4];
        rgba.AsSpan().Fill(128);

        Assert.That(PdqHasher.Hash(rgba, 64, 64).Quality, Is.Zero);
    }

    /// <summary>
    /// The reference does not apply EXIF orientation (its 4032x3024 exif-rotn-6.jpg vector is left out of the copied
    /// data for size), so a JPEG with an Orientation = 6 tag must hash exactly like the same JPEG without it.
    /// </summary>
    [Test]
    public void HashImage_ExifOrientation6_NotApplied()
    {
        var original = File.ReadAllBytes(PdqVectors.PathOf("images/pdq-data/bridge-mods/shrink-a-lot.jpg"));
        byte[] app1 =
        [
            0xFF, 0xE1, 0x00, 0x22, // APP1, length 34
            (byte)'E', (byte)'x', (byte)'i', (byte)'f', 0, 0,
            (byte)'I', (byte)'I', 0x2A, 0x00, 0x08, 0x00, 0x00, 0x00, // little-endian TIFF, IFD at 8
            0x01, 0x00, // one entry
            0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, // Orientation (SHORT) = 6
            0x00, 0x00, 0x00, 0x00, // no next IFD
        ];
        var rotated = original[..2].Concat(app1).Concat(original[2..]).ToArray();
        using (var codec = SkiaSharp.SKCodec.Create(new MemoryStream(rotated)))
        {
            Assert.That(codec.EncodedOrigin, Is.EqualTo(SkiaSharp.SKEncodedOrigin.RightTop), "the tag must be readable, or this test proves nothing");
        }

        var withTag = PdqHasher.HashImage(new MemoryStream(rotated));
        var withoutTag = PdqHasher.HashImage(new MemoryStream(original));

        Assert.That(withTag, Is.EqualTo(withoutTag));
    }

    [Test]
    public void HashImageDihedral_FromAStream_EqualsTheFileHashes()
    {
        var path = PdqVectors.PathOf("images/pdq-data/reg-test-input/dih/bridge-1-original.jpg");
        using var stream = new MemoryStream(File.ReadAllBytes(path));

        var fromStream = PdqHasher.HashImageDihedral(stream);

        Assert.That(fromStream, Is.EqualTo(PdqHasher.HashFileDihedral(path)));
        Assert.That(fromStream.Original, Is.EqualTo(PdqHasher.HashFile(path).Hash));
    }
}
