namespace HashHub.Core.Tests.Signals.Pdq;

/// <summary>One row of TestData/pdq-vectors/manifest.csv.</summary>
public sealed record ManifestRow(
    string File, int Width, int Height, int Channels, string CliHex, int CliQuality, string FullHex, int FullQuality,
    string Md5, string Notes)
{
    public string FullPath => PdqVectors.PathOf(File);

    public override string ToString() => File;
}

/// <summary>One row of TestData/pdq-vectors/dihedral.csv: 8 hashes in the order orig, rot90, rot180, rot270, flipx, flipy, flipp, flipm.</summary>
public sealed record DihedralRow(string File, string Variant, IReadOnlyList<string> Hashes)
{
    public override string ToString() => $"{File} {Variant}";
}

/// <summary>Loads the PDQ known-answer vectors copied from shared/pdq-vectors (produced with Meta's reference C++).</summary>
internal static class PdqVectors
{
    /// <summary>
    /// Files left out of the copy because they are over the ~3 MB size limit for committed test data (see the NOTE in
    /// the vectors' README). Their rows are skipped.
    /// </summary>
    public static readonly IReadOnlySet<string> Omitted = new HashSet<string>(StringComparer.Ordinal)
    {
        "images/pdq-data/reg-test-input/exif-rotn/exif-rotn-6.jpg",
    };

    public static string Root => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "pdq-vectors");

    public static string PathOf(string file) => Path.Combine(Root, file);

    public static IReadOnlyList<ManifestRow> Manifest { get; } = LoadManifest();

    public static IReadOnlyList<DihedralRow> Dihedral { get; } = LoadDihedral();

    /// <summary>
    /// The rows the exact checks run on. A 16-bit-per-channel image would be excluded: the reference (CImg) keeps the
    /// low byte of each 16-bit sample, while we scale to 8 bits properly (value/257, rounded), so their hashes
    /// legitimately differ. The current manifest has no such row; the filter stays so a future one is not miscounted.
    /// </summary>
    public static IEnumerable<ManifestRow> EightBitRows =>
        Manifest.Where(r => !r.Notes.Contains("16-bit", StringComparison.Ordinal) && !Omitted.Contains(r.File));

    private static string Dir() =>
        Path.Combine(AppContext.BaseDirectory, "TestData", "pdq-vectors");

    private static List<ManifestRow> LoadManifest()
    {
        var lines = File.ReadAllLines(Path.Combine(Dir(), "manifest.csv"));
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        return lines.Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var f = l.Split(',');
            return new ManifestRow(
                f[Col("file")], int.Parse(f[Col("width")]), int.Parse(f[Col("height")]), int.Parse(f[Col("channels")]),
                f[Col("pdq_hex")], int.Parse(f[Col("quality")]), f[Col("pdq_fullres_hex")], int.Parse(f[Col("quality_fullres")]),
                f[Col("md5")], f[Col("notes")]);
        }).ToList();
    }

    private static List<DihedralRow> LoadDihedral()
    {
        var lines = File.ReadAllLines(Path.Combine(Dir(), "dihedral.csv"));
        return lines.Skip(1).Where(l => l.Length > 0).Select(l =>
        {
            var f = l.Split(',');
            return new DihedralRow(f[0], f[1], f.Skip(2).Take(8).ToList());
        }).ToList();
    }
}
