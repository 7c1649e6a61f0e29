using System.Buffers;
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
        using (var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 64 * 1024, FileOptions.SequentialScan))
        {
            if (IsSixteenBitPng(stream))
            {
                return Png16Decoder.Decode(stream, path);
            }
        }
        // Skia's own file stream reads faster than a managed stream wrapper.
        using var codec = SKCodec.Create(path, out var result);
        return Decode(codec, result, path);
    }

    /// <summary>Peeks at the PNG header without moving the (seekable) stream.</summary>
    private static bool IsSixteenBitPng(Stream stream)
    {
        var start = stream.Position;
        Span<byte> header = stackalloc byte[26];
        var headerLength = stream.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        stream.Position = start;
        return Png16Decoder.IsSixteenBitPng(header[..headerLength]);
    }

    public static DecodedImage Decode(Stream stream, string source)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanSeek)
        {
            // Both the 16-bit check and Skia's format sniffing look ahead; a copy makes any stream seekable.
            var copy = new MemoryStream();
            stream.CopyTo(copy);
            copy.Position = 0;
            stream = copy;
        }
        if (IsSixteenBitPng(stream))
        {
            return Png16Decoder.Decode(stream, source);
        }
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

        // 16-bit PNGs never get here (Png16Decoder rounds them properly); every other format Skia reads is 8-bit.
        var buffer = ArrayPool<byte>.Shared.Rent(width * height * 4);
        try
        {
            var decoded = GetPixels(codec, new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul), buffer);
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
