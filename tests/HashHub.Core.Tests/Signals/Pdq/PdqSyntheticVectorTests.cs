using System.Globalization;
using HashHub.Core.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Pdq;

/// <summary>Odd-sized generated images against the reference C++ (TestData/pdq-synthetic/README.md).</summary>
public sealed class PdqSyntheticVectorTests
{
    private static IEnumerable<TestCaseData> Rows() =>
        File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "TestData", "pdq-synthetic", "expected.csv")).Skip(1)
            .Select(l => l.Split(','))
            .Select(f => new TestCaseData(
                    f[0], int.Parse(f[1], CultureInfo.InvariantCulture), int.Parse(f[2], CultureInfo.InvariantCulture), f[3],
                    int.Parse(f[4], CultureInfo.InvariantCulture), f[5..13], int.Parse(f[13], CultureInfo.InvariantCulture))
                .SetArgDisplayNames($"{f[0]} {f[1]}x{f[2]}"));

    [TestCaseSource(nameof(Rows))]
    public void Hash_GeneratedImage_MatchesReference(
        string kind, int width, int height, string hex, int quality, string[] dihedral, int dihedralQuality)
    {
        var rgba = SyntheticImages.Generate(kind, width, height);

        var result = PdqHasher.Hash(rgba, width, height);
        var dihedralResult = PdqHasher.HashDihedral(rgba, width, height);

        Assert.That(result.Hash.ToHex(), Is.EqualTo(hex));
        Assert.That(result.Quality, Is.EqualTo(quality));
        Assert.That(dihedralResult.All.Select(h => h.ToHex()), Is.EqualTo(dihedral));
        Assert.That(dihedralResult.Quality, Is.EqualTo(dihedralQuality));
    }
}
