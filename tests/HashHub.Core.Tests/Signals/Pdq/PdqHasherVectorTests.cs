using HashHub.Core.Signals.Pdq;

namespace HashHub.Core.Tests.Signals.Pdq;

/// <summary>
/// Bit-exact checks against Meta's reference C++ PDQ (expected values in TestData/pdq-vectors, see its README):
/// every 8-bit image, both the full-resolution hash and the reference CLI's 512x512 pre-squash, hash and quality.
/// </summary>
public sealed class PdqHasherVectorTests
{
    private static IEnumerable<TestCaseData> EightBitRows() =>
        PdqVectors.EightBitRows.Select(r => new TestCaseData(r).SetArgDisplayNames(r.File));

    private static IEnumerable<TestCaseData> DihedralRows() =>
        PdqVectors.Dihedral.Where(r => !PdqVectors.Omitted.Contains(r.File))
            .Select(r => new TestCaseData(r).SetArgDisplayNames(r.File, r.Variant));

    private static IEnumerable<TestCaseData> Twins() =>
        PdqVectors.EightBitRows.Where(r => r.Notes.Contains("decoded-twin", StringComparison.Ordinal))
            .Select(r => new TestCaseData(r).SetArgDisplayNames(r.File));

    [Test]
    public void Vectors_AllFilesPresent_ExceptOmittedLargeOnes()
    {
        var rows = PdqVectors.Manifest;
        Assert.That(rows, Has.Count.EqualTo(45));
        foreach (var row in rows.Where(r => !PdqVectors.Omitted.Contains(r.File)))
        {
            Assert.That(File.Exists(row.FullPath), Is.True, row.File);
        }
    }

    [TestCaseSource(nameof(EightBitRows))]
    public void HashFile_FullResolution_MatchesReference(ManifestRow row)
    {
        var result = PdqHasher.HashFile(row.FullPath);

        Assert.That(result.Hash.ToHex(), Is.EqualTo(row.FullHex));
        Assert.That(result.Quality, Is.EqualTo(row.FullQuality));
    }

    [TestCaseSource(nameof(EightBitRows))]
    public void HashFile_ReferenceCli512_MatchesReference(ManifestRow row)
    {
        var result = PdqHasher.HashFile(row.FullPath, PdqResolution.ReferenceCli512);

        Assert.That(result.Hash.ToHex(), Is.EqualTo(row.CliHex));
        Assert.That(result.Quality, Is.EqualTo(row.CliQuality));
    }

    [TestCaseSource(nameof(DihedralRows))]
    public void HashFileDihedral_Variant_MatchesReference(DihedralRow row)
    {
        var resolution = row.Variant == "cli" ? PdqResolution.ReferenceCli512 : PdqResolution.Full;

        var result = PdqHasher.HashFileDihedral(PdqVectors.PathOf(row.File), resolution);

        Assert.That(result.All.Select(h => h.ToHex()), Is.EqualTo(row.Hashes));
    }

    [TestCaseSource(nameof(Twins))]
    public void HashFile_DecodedTwin_HashesLikeItsJpeg(ManifestRow twin)
    {
        var jpegName = Path.GetFileName(twin.File).Replace(".decoded.png", "", StringComparison.Ordinal);
        var jpeg = PdqVectors.Manifest.Single(r =>
            Path.GetFileNameWithoutExtension(r.File) == jpegName && !r.Notes.Contains("decoded-twin", StringComparison.Ordinal));

        var fromTwin = PdqHasher.HashFile(twin.FullPath);
        var fromJpeg = PdqHasher.HashFile(jpeg.FullPath);

        Assert.That(fromTwin, Is.EqualTo(fromJpeg));
        Assert.That(fromTwin.Hash.ToHex(), Is.EqualTo(jpeg.FullHex));
    }

    [Test]
    public void HashImage_Stream_SameAsHashFile()
    {
        var row = PdqVectors.EightBitRows.First(r => r.File.EndsWith("q0122.jpg", StringComparison.Ordinal));
        using var stream = File.OpenRead(row.FullPath);

        var result = PdqHasher.HashImage(stream);

        Assert.That(result.Hash.ToHex(), Is.EqualTo(row.FullHex));
    }
}
