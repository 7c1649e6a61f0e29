using System.Globalization;
using HashHub.Core.Signals.Imaging;
using HashHub.Core.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Pdq;

/// <summary>
/// An image of exactly 64x64 is its own downsample in the reference's single-hash path but is filtered in its
/// dihedral path (TestData/pdq-64x64/README.md).
/// </summary>
public sealed class Pdq64X64Tests
{
    private static string Root => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "pdq-64x64");

    private static IEnumerable<TestCaseData> Rows() =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "TestData", "pdq-64x64", "expected.csv")).Skip(1)
            .Select(l => l.Split(','))
            .Select(f => new TestCaseData(f[0], f[1], int.Parse(f[2], CultureInfo.InvariantCulture), f[3..11], int.Parse(f[11], CultureInfo.InvariantCulture))
                .SetArgDisplayNames(f[0]));

    [TestCaseSource(nameof(Rows))]
    public void HashFile_Exactly64X64_MatchesReferenceUnfilteredPath(string file, string hex, int quality, string[] dihedral, int dihedralQuality)
    {
        var result = PdqHasher.HashFile(Path.Combine(Root, file));

        Assert.That(result.Hash.ToHex(), Is.EqualTo(hex));
        Assert.That(result.Quality, Is.EqualTo(quality));
    }

    [TestCaseSource(nameof(Rows))]
    public void HashFileDihedral_Exactly64X64_MatchesReferenceFilteredPath(string file, string hex, int quality, string[] dihedral, int dihedralQuality)
    {
        var result = PdqHasher.HashFileDihedral(Path.Combine(Root, file));

        Assert.That(result.All.Select(h => h.ToHex()), Is.EqualTo(dihedral));
        Assert.That(result.Quality, Is.EqualTo(dihedralQuality));
    }

    [TestCase("noise")]
    [TestCase("smooth")]
    public void Dct16_Exactly64X64_MatchesReferenceDctFloatForFloat(string name)
    {
        var expected = File.ReadAllLines(Path.Combine(Root, name + ".dct.txt"))
            .SelectMany(l => l.Split(' ')).Select(t => float.Parse(t, CultureInfo.InvariantCulture)).ToArray();
        using var image = ImageDecoder.DecodeFile(Path.Combine(Root, name + ".png"));
        var rgba = image.Rgba.ToArray();
        var unfiltered = new float[256];
        var filtered = new float[256];

        PdqVectorized.Dct16(rgba, 64, 64, PdqCommon.IsGrey(rgba), unfiltered, skipFilterAt64: true);
        PdqVectorized.Dct16(rgba, 64, 64, PdqCommon.IsGrey(rgba), filtered);

        Assert.That(unfiltered, Is.EqualTo(expected));
        Assert.That(filtered, Is.Not.EqualTo(expected), "the filtered path must really differ, or this test proves nothing");
    }
}
