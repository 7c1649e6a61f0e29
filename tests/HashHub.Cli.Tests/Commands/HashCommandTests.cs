using System.Security.Cryptography;
using System.Text.Json;
using HashHub.Cli.Tests.Infrastructure;

namespace HashHub.Cli.Tests.Commands;

public sealed class HashCommandTests
{
    // A colour JPEG over 512 px, a PNG with alpha, a low-quality JPEG, a grey JPEG (quality 0), a WebP.
    private static readonly string[] Images =
    [
        "images/pdq-data/reg-test-input/dih/bridge-1-original.jpg",
        "images/pdq-data/reg-test-input/pen-and-coaster.png",
        "images/pdq-data/reg-test-input/labelme-subset/q0003.jpg",
        "images/pdq-data/misc-images/small.jpg",
        "images/pdq-data/misc-images/modes/F.webp",
    ];

    [TestCaseSource(nameof(Images))]
    public async Task Hash_JsonOnReferenceImage_MatchesManifestAndSha256(string image)
    {
        var row = TestFiles.Manifest(image);
        var path = TestFiles.VectorPath(image);

        var result = await CliRunner.RunAsync("hash", "--json", path);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.OutLines, Has.Length.EqualTo(1));
        using var json = JsonDocument.Parse(result.OutLines[0]);
        var root = json.RootElement;
        var sha256 = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("file").GetString(), Is.EqualTo(path));
            Assert.That(root.GetProperty("pdq").GetString(), Is.EqualTo(row.PdqFullRes));
            Assert.That(root.GetProperty("quality").GetInt32(), Is.EqualTo(row.QualityFullRes));
            // MD5 from `md5sum` (the analyzers ban MD5 in our own code, rightly outside of exact-match signals).
            Assert.That(root.GetProperty("md5").GetString(), Is.EqualTo(row.Md5));
            Assert.That(root.GetProperty("sha256").GetString(), Is.EqualTo(sha256));
        });
    }

    [Test]
    public async Task Hash_Json_HasExactlyTheFiveFieldsInOrder()
    {
        var result = await CliRunner.RunAsync("hash", "--json", TestFiles.VectorPath(Images[0]));

        using var json = JsonDocument.Parse(result.OutLines[0]);
        var names = json.RootElement.EnumerateObject().Select(p => p.Name);
        Assert.That(names, Is.EqualTo(new[] { "file", "pdq", "quality", "md5", "sha256" }));
    }

    [Test]
    public async Task Hash_JsonSeveralFiles_OneLinePerFileInArgumentOrder()
    {
        var paths = Images.Take(3).Select(TestFiles.VectorPath).ToArray();

        var result = await CliRunner.RunAsync(["hash", "--json", .. paths]);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        var files = result.OutLines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("file").GetString());
        Assert.That(files, Is.EqualTo(paths));
    }

    [Test]
    public async Task Hash_Cli512_MatchesReferenceCliOutput()
    {
        var image = Images[0];
        var row = TestFiles.Manifest(image);

        var result = await CliRunner.RunAsync("hash", "--json", "--cli512", TestFiles.VectorPath(image));

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        using var json = JsonDocument.Parse(result.OutLines[0]);
        Assert.That(json.RootElement.GetProperty("pdq").GetString(), Is.EqualTo(row.PdqCli512));
        Assert.That(json.RootElement.GetProperty("quality").GetInt32(), Is.EqualTo(row.QualityCli512));
        Assert.That(row.PdqCli512, Is.Not.EqualTo(row.PdqFullRes), "the vector should tell the two modes apart");
    }

    [Test]
    public async Task Hash_NonImageFile_NullPdqAndExitZero()
    {
        var path = TestFiles.WriteTemp("notes.txt", "not an image\n");

        var result = await CliRunner.RunAsync("hash", "--json", path);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        using var json = JsonDocument.Parse(result.OutLines[0]);
        var root = json.RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(root.GetProperty("pdq").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("quality").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(root.GetProperty("md5").GetString(), Is.EqualTo("f03bad8114ea048ed5390cd5bc76cfa8"));
            Assert.That(root.GetProperty("sha256").GetString(), Is.EqualTo(Convert.ToHexStringLower(SHA256.HashData("not an image\n"u8))));
            Assert.That(result.Error, Is.Empty);
        });
    }

    [Test]
    public async Task Hash_EmptyFile_NullPdqAndKnownDigests()
    {
        var path = TestFiles.WriteTemp("empty.jpg", "");

        var result = await CliRunner.RunAsync("hash", "--json", path);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        using var json = JsonDocument.Parse(result.OutLines[0]);
        Assert.That(json.RootElement.GetProperty("pdq").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(json.RootElement.GetProperty("sha256").GetString(),
            Is.EqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    }

    [Test]
    public async Task Hash_MissingFile_ExitCode2NamesFileAndStillHashesOthers()
    {
        var missing = Path.Combine(TestFiles.ScratchRoot, "does-not-exist.jpg");
        var present = TestFiles.VectorPath(Images[0]);

        var result = await CliRunner.RunAsync("hash", "--json", missing, present);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain(missing).And.Contain("no such file"));
        Assert.That(result.OutLines, Has.Length.EqualTo(1));
        Assert.That(result.OutLines[0], Does.Contain(TestFiles.Manifest(Images[0]).PdqFullRes));
    }

    [Test]
    public async Task Hash_Directory_ExitCode2SaysDirectory()
    {
        var dir = Path.GetDirectoryName(TestFiles.WriteTemp("x.txt", "x"))!;

        var result = await CliRunner.RunAsync("hash", dir);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain(dir).And.Contain("directory"));
    }

    [Test]
    public async Task Hash_TextOutput_ShowsEachSignalOnItsOwnLine()
    {
        var image = Images[0];
        var row = TestFiles.Manifest(image);
        var path = TestFiles.VectorPath(image);

        var result = await CliRunner.RunAsync("hash", path);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.OutLines, Does.Contain(path));
        Assert.That(result.OutLines, Does.Contain($"  pdq     {row.PdqFullRes}"));
        Assert.That(result.OutLines, Does.Contain($"  quality {row.QualityFullRes}"));
        Assert.That(result.OutLines, Does.Contain($"  md5     {row.Md5}"));
    }

    [Test]
    public async Task Hash_TextOutputLowQuality_SaysBelowThreshold()
    {
        var result = await CliRunner.RunAsync("hash", TestFiles.VectorPath("images/pdq-data/reg-test-input/labelme-subset/q0003.jpg"));

        Assert.That(result.Out, Does.Contain("quality 3 (below 50"));
    }

    [Test]
    public async Task Hash_NoFile_ExitCode2()
    {
        var result = await CliRunner.RunAsync("hash");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Is.Not.Empty);
    }

    [Test]
    public async Task Hash_Help_ShowsExampleAndExitCodes()
    {
        var result = await CliRunner.RunAsync("hash", "--help");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Out, Does.Contain("EXAMPLES:").And.Contain("hashhub hash --json"));
        Assert.That(result.Out, Does.Contain("EXIT CODES:").And.Contain("--cli512"));
    }
}
