using BenchmarkDotNet.Attributes;
using HashHub.Core.Signals.Imaging;
using HashHub.Core.Signals.Pdq;
using SkiaSharp;

namespace HashHub.Benchmarks.Pdq;

/// <summary>
/// PDQ hashing of a photo-sized image: from decoded pixels (the hashing core) and end to end from JPEG bytes (decode
/// plus hash). The scalar transcription of the reference runs in the same job as the baseline. The reference C++ takes
/// about 45 ms to hash a 1024x1024 image from pixels.
/// </summary>
[MemoryDiagnoser]
public class PdqBenchmarks
{
    private byte[] _jpeg = [];
    private byte[] _rgba = [];
    private int _width;
    private int _height;

    /// <summary>Image size: a 1 MP square and a 12 MP phone photo.</summary>
    [Params("1024x1024", "4032x3024")]
    public string Size { get; set; } = "1024x1024";

    [GlobalSetup]
    public void Setup()
    {
        var parts = Size.Split('x');
        _width = int.Parse(parts[0]);
        _height = int.Parse(parts[1]);
        _jpeg = PhotoLikeImage.Jpeg(_width, _height);
        using var decoded = ImageDecoder.Decode(new MemoryStream(_jpeg), "benchmark");
        _rgba = decoded.Rgba.ToArray();
    }

    [Benchmark(Baseline = true, Description = "scalar reference transcription, from pixels")]
    public PdqHash ScalarFromPixels()
    {
        Span<float> dct = stackalloc float[256];
        PdqScalar.Dct16(_rgba, _width, _height, grey: false, dct);
        return PdqCommon.ToHash(dct);
    }

    [Benchmark(Description = "PdqHasher.Hash, from pixels")]
    public PdqResult FromPixels() => PdqHasher.Hash(_rgba, _width, _height);

    [Benchmark(Description = "PdqHasher.HashImage, from JPEG bytes")]
    public PdqResult FromJpeg() => PdqHasher.HashImage(new MemoryStream(_jpeg, writable: false));
}

/// <summary>A synthetic photo drawn as vector shapes at the wanted size, so no large file is committed.</summary>
internal static class PhotoLikeImage
{
    public static byte[] Jpeg(int width, int height)
    {
        var info = new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Premul);
        using var surface = SKSurface.Create(info);
        var canvas = surface.Canvas;
        using (var sky = new SKPaint())
        {
            sky.Shader = SKShader.CreateLinearGradient(
                new SKPoint(0, 0), new SKPoint(0, height),
                [new SKColor(70, 130, 200), new SKColor(230, 200, 160), new SKColor(60, 90, 40)],
                [0f, 0.55f, 1f], SKShaderTileMode.Clamp);
            canvas.DrawRect(0, 0, width, height, sky);
        }
        var random = new Random(42);
        using var paint = new SKPaint { IsAntialias = true };
        for (var i = 0; i < 400; i++)
        {
            paint.Color = new SKColor((byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(256), (byte)random.Next(60, 200));
            var x = random.NextSingle() * width;
            var y = random.NextSingle() * height;
            var r = random.NextSingle() * Math.Min(width, height) / 8f;
            if (i % 2 == 0)
            {
                canvas.DrawCircle(x, y, r, paint);
            }
            else
            {
                canvas.DrawRect(x, y, r * 1.7f, r, paint);
            }
        }
        using (var texture = new SKPaint())
        {
            // Fine grain, like sensor noise and foliage, so the JPEG has realistic high-frequency content.
            texture.Shader = SKShader.CreatePerlinNoiseFractalNoise(0.05f, 0.05f, 4, 7f);
            texture.BlendMode = SKBlendMode.Overlay;
            canvas.DrawRect(0, 0, width, height, texture);
        }
        using var image = surface.Snapshot();
        using var data = image.Encode(SKEncodedImageFormat.Jpeg, 90);
        return data.ToArray();
    }
}
