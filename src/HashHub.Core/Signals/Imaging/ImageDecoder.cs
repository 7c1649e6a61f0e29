using System.Buffers;
using System.Runtime.InteropServices;
using SkiaSharp;

namespace HashHub.Core.Signals.Imaging;

/// <summary>
/// Decodes JPEG, PNG, WebP, GIF and BMP with Skia into 8-bit RGBA, the way the PDQ reference sees images:
/// colour values not premultiplied (the reference drops alpha without compositing), EXIF orientation not applied.
/// Skia's JPEG decoder (libjpeg-turbo, ISLOW IDCT, fancy upsampling) gives the same pixels as the reference's
/// ImageMagick decode, which matters: another IDCT changes up to 52 bits of a PDQ hash.
/// </summary>
internal static class ImageDecoder
{
    public static DecodedImage DecodeFile(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"Image file '{path}' does not exist.", path);
        }
        using var codec = SKCodec.Create(path, out var result);
        return Decode(codec, result, path);
    }

    public static DecodedImage Decode(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        using var managed = new SKManagedStream(stream, disposeManagedStream: false);
        using var codec = SKCodec.Create(managed, out var result);
        return Decode(codec, result, source);
    }

    private static DecodedImage Decode(SKCodec? codec, SKCodecResult createResult, string source)
    {
        if (codec is null)
        {
            throw new ImageDecodeException(source, createResult switch
            {
                SKCodecResult.Unimplemented => "unsupported image format",
                SKCodecResult.IncompleteInput => "the file is truncated",
                _ => $"not a recognised image ({createResult})",
            });
        }

        var width = codec.Info.Width;
        var height = codec.Info.Height;
        if (width <= 0 || height <= 0 || (long)width * height > int.MaxValue / 8)
        {
            throw new ImageDecodeException(source, $"unsupported image size {width}x{height}");
        }

        // 16 bits per channel: Skia would reduce to 8 bits on its own; decode at 16 bits and round value/257 so the
        // reduction is the proper one (the reference's CImg keeps the low byte, which no one should copy).
        var sixteenBit = codec.Info.ColorType is SKColorType.Rgba16161616 or SKColorType.RgbaF16 or SKColorType.RgbaF32;
        var buffer = ArrayPool<byte>.Shared.Rent(width * height * 4);
        try
        {
            var decoded = sixteenBit
                ? Decode16(codec, width, height, buffer)
                : GetPixels(codec, new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), buffer);
            if (decoded != SKCodecResult.Success)
            {
                throw new ImageDecodeException(source, decoded switch
                {
                    SKCodecResult.IncompleteInput => "the image data is truncated",
                    SKCodecResult.ErrorInInput => "the image data is corrupt",
                    SKCodecResult.InvalidConversion => "the pixel format cannot be converted to RGBA",
                    _ => $"decoding failed ({decoded})",
                });
            }
            return new DecodedImage(buffer, width, height);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    private static SKCodecResult Decode16(SKCodec codec, int width, int height, byte[] output)
    {
        var wide = ArrayPool<ushort>.Shared.Rent(width * height * 4);
        try
        {
            var bytes = MemoryMarshal.AsBytes(wide.AsSpan(0, width * height * 4));
            var info = new SKImageInfo(width, height, SKColorType.Rgba16161616, SKAlphaType.Unpremul);
            SKCodecResult result;
            unsafe
            {
                fixed (byte* p = bytes)
                {
                    result = codec.GetPixels(info, (IntPtr)p);
                }
            }
            if (result == SKCodecResult.Success)
            {
                Narrow16To8(wide.AsSpan(0, width * height * 4), output);
            }
            return result;
        }
        finally
        {
            ArrayPool<ushort>.Shared.Return(wide);
        }
    }

    /// <summary>16 to 8 bits, rounded to nearest: (v + 128) / 257 is round(v * 255 / 65535).</summary>
    internal static void Narrow16To8(ReadOnlySpan<ushort> wide, Span<byte> narrow)
    {
        for (var i = 0; i < wide.Length; i++)
        {
            narrow[i] = (byte)((wide[i] + 128) / 257);
        }
    }

    private static SKCodecResult GetPixels(SKCodec codec, SKImageInfo info, byte[] buffer)
    {
        unsafe
        {
            fixed (byte* p = buffer)
            {
                return codec.GetPixels(info, (IntPtr)p);
            }
        }
    }
}
