using System.Globalization;

namespace HashHub.Cli.Tests.Infrastructure;

/// <summary>The linked test vectors and a scratch directory for files a test writes.</summary>
internal static class TestFiles
{
    /// <summary>Scratch files of this test run; deleted by <see cref="ScratchCleanup"/>.</summary>
    public static readonly string ScratchRoot =
        Path.Combine(Path.GetTempPath(), "hashhub-cli-tests", Environment.ProcessId.ToString(CultureInfo.InvariantCulture));

    public static string DataPath(string relative) =>
        Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", relative.Replace('/', Path.DirectorySeparatorChar));

    public static string VectorPath(string file) => DataPath("pdq-vectors/" + file);

    /// <summary>The manifest row of a vector image: full-resolution PDQ and quality, the reference CLI's, and MD5.</summary>
    public static ManifestRow Manifest(string file)
    {
        var lines = File.ReadAllLines(DataPath("pdq-vectors/manifest.csv"));
        var header = lines[0].Split(',');
        int Col(string name) => Array.IndexOf(header, name);
        var fields = lines.Skip(1).Select(l => l.Split(',')).Single(f => f[Col("file")] == file);
        return new ManifestRow(
            fields[Col("file")],
            fields[Col("pdq_fullres_hex")],
            int.Parse(fields[Col("quality_fullres")], CultureInfo.InvariantCulture),
            fields[Col("pdq_hex")],
            int.Parse(fields[Col("quality")], CultureInfo.InvariantCulture),
            fields[Col("md5")]);
    }

    /// <summary>Writes <paramref name="content"/> to a new file in a per-test scratch directory.</summary>
    public static string WriteTemp(string name, string content)
    {
        var dir = Path.Combine(ScratchRoot, TestContext.CurrentContext.Test.ID);
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, name);
        File.WriteAllText(path, content);
        return path;
    }
}

public sealed record ManifestRow(string File, string PdqFullRes, int QualityFullRes, string PdqCli512, int QualityCli512, string Md5);
