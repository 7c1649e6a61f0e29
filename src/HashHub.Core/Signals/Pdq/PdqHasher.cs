using System.Buffers;
using HashHub.Core.Signals.Imaging;

namespace HashHub.Core.Signals.Pdq;

/// <summary>
/// PDQ, Meta's perceptual image hash, bit-exact with the reference implementation in
/// <c>facebook/ThreatExchange/pdq</c>: luma, two Jarosz box-filter passes down to 64x64, a 16x16 DCT, median
/// threshold, and the gradient quality metric (PDQ hashing document).
/// </summary>
/// <example>
/// <code>
/// var result = PdqHasher.HashFile("upload.jpg");
/// if (result.Quality &gt;= PdqSignalType.DefaultMinQuality) { Share(result.Hash.ToHex()); }
/// </code>
/// </example>
public static class PdqHasher
{
    /// <summary>
    /// Hashes decoded pixels: 8-bit RGBA, row-major, 4 bytes a pixel, not premultiplied. Alpha is ignored (the reference
    /// does not composite), and when every pixel has R = G = B the grey value is used as luma, as the reference does.
    /// </summary>
    /// <exception cref="ArgumentException">When the buffer size does not match <paramref name="width"/> x <paramref name="height"/>.</exception>
    public static PdqResult Hash(ReadOnlySpan<byte> rgba, int width, int height, PdqResolution resolution = PdqResolution.Full)
    {
        Span<float> dct = stackalloc float[256];
        if (!Dct16(rgba, width, height, resolution, dihedral: false, dct, out var quality))
        {
            return new PdqResult(PdqHash.Zero, 0);
        }
        return new PdqResult(PdqCommon.ToHash(dct), quality);
    }

    /// <summary>The eight dihedral hashes (rotations and flips) of decoded RGBA pixels; see <see cref="Hash"/>.</summary>
    public static PdqDihedralHashes HashDihedral(ReadOnlySpan<byte> rgba, int width, int height, PdqResolution resolution = PdqResolution.Full)
    {
        Span<float> dct = stackalloc float[256];
        if (!Dct16(rgba, width, height, resolution, dihedral: true, dct, out var quality))
        {
            var zero = PdqHash.Zero;
            return new PdqDihedralHashes(zero, zero, zero, zero, zero, zero, zero, zero, 0);
        }
        return PdqCommon.Dihedral(dct, quality);
    }

    /// <summary>Decodes an image file (JPEG, PNG, WebP, GIF, BMP) and hashes it. EXIF orientation is not applied.</summary>
    /// <exception cref="ImageDecodeException">When the file is corrupt or not a supported image.</exception>
    /// <exception cref="FileNotFoundException">When the file does not exist.</exception>
    public static PdqResult HashFile(string path, PdqResolution resolution = PdqResolution.Full)
    {
        using var image = ImageDecoder.DecodeFile(path);
        return Hash(image.Rgba, image.Width, image.Height, resolution);
    }

    /// <summary>Decodes an encoded image from a stream and hashes it. EXIF orientation is not applied.</summary>
    /// <param name="stream">The encoded image; read from its current position.</param>
    /// <param name="resolution">Full resolution (default) or the reference CLI's 512x512 pre-squash.</param>
    /// <param name="sourceName">A name for the image in error messages.</param>
    /// <exception cref="ImageDecodeException">When the data is corrupt or not a supported image.</exception>
    public static PdqResult HashImage(Stream stream, PdqResolution resolution = PdqResolution.Full, string sourceName = "stream")
    {
        using var image = ImageDecoder.Decode(stream, sourceName);
        return Hash(image.Rgba, image.Width, image.Height, resolution);
    }

    /// <summary>Decodes an image file and returns its eight dihedral hashes.</summary>
    /// <exception cref="ImageDecodeException">When the file is corrupt or not a supported image.</exception>
    public static PdqDihedralHashes HashFileDihedral(string path, PdqResolution resolution = PdqResolution.Full)
    {
        using var image = ImageDecoder.DecodeFile(path);
        return HashDihedral(image.Rgba, image.Width, image.Height, resolution);
    }

    /// <summary>Decodes an encoded image from a stream and returns its eight dihedral hashes.</summary>
    /// <param name="stream">The encoded image; read from its current position.</param>
    /// <param name="resolution">Full resolution (default) or the reference CLI's 512x512 pre-squash.</param>
    /// <param name="sourceName">A name for the image in error messages.</param>
    /// <exception cref="ImageDecodeException">When the data is corrupt or not a supported image.</exception>
    public static PdqDihedralHashes HashImageDihedral(Stream stream, PdqResolution resolution = PdqResolution.Full, string sourceName = "stream")
    {
        using var image = ImageDecoder.Decode(stream, sourceName);
        return HashDihedral(image.Rgba, image.Width, image.Height, resolution);
    }

    private static bool Dct16(
        ReadOnlySpan<byte> rgba, int width, int height, PdqResolution resolution, bool dihedral, Span<float> dct, out int quality)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        if ((long)width * height * 4 != rgba.Length)
        {
            throw new ArgumentException(
                $"Expected {(long)width * height * 4} bytes of RGBA for {width}x{height}, got {rgba.Length}.", nameof(rgba));
        }
        if (!Enum.IsDefined(resolution))
        {
            throw new ArgumentOutOfRangeException(nameof(resolution), resolution, "Unknown PDQ resolution.");
        }

        // Grey is decided on the decoded image, before any pre-squash: the reference's decoder chooses PGM output then.
        var grey = PdqCommon.IsGrey(rgba);
        if (resolution == PdqResolution.ReferenceCli512 &&
            (width > PdqCommon.CliDownsampleDimension || height > PdqCommon.CliDownsampleDimension))
        {
            const int n = PdqCommon.CliDownsampleDimension;
            var squashed = ArrayPool<byte>.Shared.Rent(n * n * 4);
            try
            {
                PdqCommon.SquashTo512(rgba, width, height, squashed.AsSpan(0, n * n * 4));
                return Dct16Core(squashed.AsSpan(0, n * n * 4), n, n, grey, dihedral, dct, out quality);
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(squashed);
            }
        }
        return Dct16Core(rgba, width, height, grey, dihedral, dct, out quality);
    }

    private static bool Dct16Core(ReadOnlySpan<byte> rgba, int width, int height, bool grey, bool dihedral, Span<float> dct, out int quality)
    {
        if (width < PdqCommon.MinHashableDimension || height < PdqCommon.MinHashableDimension)
        {
            quality = 0;
            return false;
        }
        // The reference's single-hash path takes a 64x64 image as already downsampled; its dihedral path does not.
        quality = PdqVectorized.Dct16(rgba, width, height, grey, dct, skipFilterAt64: !dihedral);
        return true;
    }
}
