using System.Globalization;
using HashHub.Core.Signals.Imaging;
using HashHub.Core.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Pdq;

/// <summary>
/// Step-by-step checks against the reference's dumped intermediates (TestData/pdq-vectors/intermediates): the 64x64
/// buffer after the Jarosz passes and decimation, the 16x16 DCT and its median, each float exactly (printed %.9g,
/// which round-trips a float).
/// </summary>
public sealed class PdqIntermediatesTests
{
    private static readonly Dictionary<string, string> Images = new()
    {
        ["bridge-1-original.jpg"] = "images/pdq-data/reg-test-input/dih/bridge-1-original.jpg",
        ["pen-and-coaster.png"] = "images/pdq-data/reg-test-input/pen-and-coaster.png",
        ["q0122.jpg"] = "images/pdq-data/reg-test-input/labelme-subset/q0122.jpg",
        ["small.jpg"] = "images/pdq-data/misc-images/small.jpg",
        ["wee.jpg"] = "images/pdq-data/misc-images/wee.jpg",
    };

    private static IEnumerable<TestCaseData> Dumps() =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "pdq-vectors", "intermediates"), "*.txt")
            .Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal)
            .Select(name => new TestCaseData(name).SetArgDisplayNames(name));

    [TestCaseSource(nameof(Dumps))]
    public void Downsample64AndDct_ReferenceDump_MatchFloatForFloat(string dumpName)
    {
        var lines = File.ReadAllLines(Path.Combine(PdqVectors.Root, "intermediates", dumpName));
        var cli = dumpName.EndsWith(".cli512.txt", StringComparison.Ordinal);
        var image = Images[dumpName.Replace(".cli512.txt", "", StringComparison.Ordinal).Replace(".fullres.txt", "", StringComparison.Ordinal)];
        var expected64 = Floats(lines.Skip(2).Take(64));
        var expectedDct = Floats(lines.Skip(67).Take(16));
        var expectedMedian = float.Parse(lines[0].Split("median=")[1], CultureInfo.InvariantCulture);

        using var decoded = ImageDecoder.DecodeFile(PdqVectors.PathOf(image));
        var rgba = decoded.Rgba.ToArray();
        var (width, height) = (decoded.Width, decoded.Height);
        var grey = PdqCommon.IsGrey(rgba);
        if (cli && (width > 512 || height > 512))
        {
            var squashed = new byte[512 * 512 * 4];
            PdqCommon.SquashTo512(rgba, width, height, squashed);
            rgba = squashed;
            (width, height) = (512, 512);
        }
        var actual64 = new float[64 * 64];
        var actualDct = new float[256];
        PdqStreaming.Downsample64(rgba, width, height, grey, actual64);
        PdqVectorized.Dct(actual64, actualDct);

        Assert.That(actual64, Is.EqualTo(expected64), "64x64 downsample");
        Assert.That(actualDct, Is.EqualTo(expectedDct), "16x16 DCT");
        Assert.That(PdqCommon.Median(actualDct), Is.EqualTo(expectedMedian), "median");
    }

    private static float[] Floats(IEnumerable<string> lines) =>
        lines.SelectMany(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(t => float.Parse(t, CultureInfo.InvariantCulture)).ToArray();
}
