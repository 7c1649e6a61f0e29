using System.Buffers;
using System.Buffers.Binary;
using System.IO.Compression;

namespace HashHub.Core.Signals.Imaging;

/// <summary>
/// Reads PNGs with 16 bits per channel, which Skia can only hand over as 8-bit RGBA by dropping the low byte (or as
/// half floats, too coarse to round exactly). Here each sample is rounded to nearest, value/257, so a 16-bit image
/// hashes like its properly converted 8-bit copy. PNG specification (W3C, 2nd edition): chunks, zlib stream,
/// per-scanline filters (section 9) and Adam7 interlacing (section 8).
/// </summary>
internal static class Png16Decoder
{
    private static ReadOnlySpan<byte> Signature => [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>True when <paramref name="header"/> (the first 26 bytes or more) is a PNG whose IHDR says 16-bit.</summary>
    public static bool IsSixteenBitPng(ReadOnlySpan<byte> header) =>
        header.Length >= 26 && header[..8].SequenceEqual(Signature) && header.Slice(12, 4).SequenceEqual("IHDR"u8) && header[24] == 16;

    public static DecodedImage Decode(Stream stream, string source)
    {
        Span<byte> eight = stackalloc byte[8];
        ReadExactly(stream, eight, source);
        if (!eight.SequenceEqual(Signature))
        {
            throw new ImageDecodeException(source, "not a PNG file");
        }

        int width = 0, height = 0, colorType = -1, interlace = 0;
        using var idat = new MemoryStream();
        var sawEnd = false;
        while (!sawEnd)
        {
            ReadExactly(stream, eight, source);
            var length = BinaryPrimitives.ReadInt32BigEndian(eight);
            var type = System.Text.Encoding.ASCII.GetString(eight[4..]);
            if (length < 0 || length > 1 << 30)
            {
                throw new ImageDecodeException(source, "corrupt PNG chunk length");
            }
            var data = new byte[length + 4]; // chunk data and CRC
            ReadExactly(stream, data, source);
            switch (type)
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(4));
                    colorType = data[9];
                    interlace = data[12];
                    if (data[8] != 16 || colorType is not (0 or 2 or 4 or 6) || interlace > 1 || width <= 0 || height <= 0 ||
                        (long)width * height > int.MaxValue / 8)
                    {
                        throw new ImageDecodeException(source, "unsupported 16-bit PNG header");
                    }
                    break;
                case "IDAT":
                    idat.Write(data, 0, length);
                    break;
                case "IEND":
                    sawEnd = true;
                    break;
            }
        }
        if (colorType < 0)
        {
            throw new ImageDecodeException(source, "PNG has no IHDR chunk");
        }

        var channels = colorType switch { 0 => 1, 2 => 3, 4 => 2, _ => 4 };
        var bytesPerPixel = channels * 2;
        var output = ArrayPool<byte>.Shared.Rent(width * height * 4);
        try
        {
            idat.Position = 0;
            using var inflate = new ZLibStream(idat, CompressionMode.Decompress);
            if (interlace == 0)
            {
                DecodePass(inflate, source, width, height, bytesPerPixel, channels, output, width, 0, 0, 1, 1);
            }
            else
            {
                // Adam7: (x0, y0, dx, dy) of the seven passes.
                ReadOnlySpan<int> passes = [0, 0, 8, 8, 4, 0, 8, 8, 0, 4, 4, 8, 2, 0, 4, 4, 0, 2, 2, 4, 1, 0, 2, 2, 0, 1, 1, 2];
                for (var p = 0; p < 7; p++)
                {
                    int x0 = passes[p * 4], y0 = passes[p * 4 + 1], dx = passes[p * 4 + 2], dy = passes[p * 4 + 3];
                    var passWidth = (width - x0 + dx - 1) / dx;
                    var passHeight = (height - y0 + dy - 1) / dy;
                    if (passWidth > 0 && passHeight > 0)
                    {
                        DecodePass(inflate, source, passWidth, passHeight, bytesPerPixel, channels, output, width, x0, y0, dx, dy);
                    }
                }
            }
            return new DecodedImage(output, width, height);
        }
        catch (InvalidDataException ex)
        {
            ArrayPool<byte>.Shared.Return(output);
            throw new ImageDecodeException(source, "corrupt PNG image data", ex);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(output);
            throw;
        }
    }

    private static void DecodePass(
        Stream inflate, string source, int passWidth, int passHeight, int bytesPerPixel, int channels, byte[] output, int width,
        int x0, int y0, int dx, int dy)
    {
        var stride = passWidth * bytesPerPixel;
        var previous = new byte[stride];
        var current = new byte[stride];
        var filter = new byte[1];
        for (var y = 0; y < passHeight; y++)
        {
            ReadExactly(inflate, filter, source);
            ReadExactly(inflate, current, source);
            Unfilter(filter[0], current, previous, bytesPerPixel, source);
            var outRow = (y0 + y * dy) * width;
            for (var x = 0; x < passWidth; x++)
            {
                var s = current.AsSpan(x * bytesPerPixel);
                var o = output.AsSpan((outRow + x0 + x * dx) * 4, 4);
                var v0 = Narrow(s);
                switch (channels)
                {
                    case 1:
                        o[0] = o[1] = o[2] = v0;
                        o[3] = 255;
                        break;
                    case 2:
                        o[0] = o[1] = o[2] = v0;
                        o[3] = Narrow(s[2..]);
                        break;
                    default:
                        o[0] = v0;
                        o[1] = Narrow(s[2..]);
                        o[2] = Narrow(s[4..]);
                        o[3] = channels == 4 ? Narrow(s[6..]) : (byte)255;
                        break;
                }
            }
            (previous, current) = (current, previous);
        }
    }

    /// <summary>16 to 8 bits, rounded to nearest: (v + 128) / 257 is round(v * 255 / 65535).</summary>
    private static byte Narrow(ReadOnlySpan<byte> bigEndian) => (byte)((BinaryPrimitives.ReadUInt16BigEndian(bigEndian) + 128) / 257);

    private static void Unfilter(byte filter, Span<byte> row, ReadOnlySpan<byte> prior, int bpp, string source)
    {
        switch (filter)
        {
            case 0:
                break;
            case 1:
                for (var i = bpp; i < row.Length; i++)
                {
                    row[i] += row[i - bpp];
                }
                break;
            case 2:
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] += prior[i];
                }
                break;
            case 3:
                for (var i = 0; i < row.Length; i++)
                {
                    var left = i >= bpp ? row[i - bpp] : 0;
                    row[i] += (byte)((left + prior[i]) / 2);
                }
                break;
            case 4:
                for (var i = 0; i < row.Length; i++)
                {
                    int a = i >= bpp ? row[i - bpp] : 0, b = prior[i], c = i >= bpp ? prior[i - bpp] : 0;
                    int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
                    row[i] += (byte)(pa <= pb && pa <= pc ? a : pb <= pc ? b : c);
                }
                break;
            default:
                throw new ImageDecodeException(source, $"corrupt PNG: unknown scanline filter {filter}");
        }
    }

    private static void ReadExactly(Stream stream, Span<byte> buffer, string source)
    {
        try
        {
            stream.ReadExactly(buffer);
        }
        catch (EndOfStreamException ex)
        {
            throw new ImageDecodeException(source, "the PNG data is truncated", ex);
        }
    }
}
