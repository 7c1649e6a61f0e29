using SkiaSharp;

namespace HashHub.Client.Tests.Infrastructure;

/// <summary>Images for matching tests: synthetic ones with plenty of structure (PDQ quality well over 50), and edits of a real photo.</summary>
internal static class TestImages
{
    public static string Photo => Path.Combine(AppContext.BaseDirectory, "TestData", "bridge-1-original.jpg");

    public static string PhotoRotated90 => Path.Combine(AppContext.BaseDirectory, "TestData", "bridge-2-rotate-90.jpg");

    /// <summary>A PNG of random overlapping shapes; the same seed gives the same image.</summary>
    public static byte[] Synthetic(int seed, int size = 256)
    {
        var random = new Random(seed);
        using var bitmap = new SKBitmap(size, size);
        using (var canvas = new SKCanvas(bitmap))
        {
            canvas.Clear(new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256)));
            using var paint = new SKPaint { IsAntialias = true };
            for (var i = 0; i < 40; i++)
            {
                paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256));
                var x = random.Next(size);
                var y = random.Next(size);
                if (i % 2 == 0)
                {
                    canvas.DrawCircle(x, y, random.Next(8, size / 3), paint);
                }
                else
                {
                    canvas.DrawRect(x, y, random.Next(8, size / 2), random.Next(8, size / 2), paint);
                }
            }
        }
        return Encode(bitmap, SKEncodedImageFormat.Png, 100);
    }

    /// <summary>The image decoded and saved again as JPEG at <paramref name="quality"/>: other bytes, nearly the same pixels.</summary>
    public static byte[] ReencodeJpeg(byte[] image, int quality)
    {
        using var bitmap = SKBitmap.Decode(image);
        return Encode(bitmap, SKEncodedImageFormat.Jpeg, quality);
    }

    /// <summary>The image at half its width and height (JPEG, quality 90).</summary>
    public static byte[] HalfSize(byte[] image)
    {
        using var bitmap = SKBitmap.Decode(image);
        using var half = bitmap.Resize(new SKImageInfo(bitmap.Width / 2, bitmap.Height / 2), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        return Encode(half, SKEncodedImageFormat.Jpeg, 90);
    }

    private static byte[] Encode(SKBitmap bitmap, SKEncodedImageFormat format, int quality)
    {
        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(format, quality);
        return data.ToArray();
    }
}
