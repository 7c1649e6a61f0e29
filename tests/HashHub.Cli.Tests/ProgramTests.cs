using HashHub.Cli.Tests.Infrastructure;

namespace HashHub.Cli.Tests;

public sealed class ProgramTests
{
    [Test]
    public async Task Run_Help_ListsCommandsExamplesAndExitCodes()
    {
        var result = await CliRunner.RunAsync("--help");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Out, Does.Contain("hash <FILE>").And.Contain("lookup <QUERIES>"));
        Assert.That(result.Out, Does.Contain("EXAMPLES:").And.Contain("EXIT CODES:"));
    }

    [Test]
    public async Task Run_UnknownCommand_ExitCode2OnStderr()
    {
        var result = await CliRunner.RunAsync("frobnicate");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("frobnicate"));
        Assert.That(result.Out, Is.Empty);
    }

    [Test]
    public async Task Run_UnknownOption_ExitCode2()
    {
        var result = await CliRunner.RunAsync("hash", "--no-such-option", "x.jpg");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("no-such-option"));
    }

    /// <summary>1 means "matched" to a script: a mistyped match must not exit 1.</summary>
    [Test]
    public async Task Match_UnknownOption_ExitCode2NotMatched()
    {
        var result = await CliRunner.RunAsync("match", "--jsn", "upload.jpg");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("jsn"));
    }

    [Test]
    public async Task Run_Cancelled_ExitCode130()
    {
        using var cancellation = new CancellationTokenSource();
        await cancellation.CancelAsync();

        var result = await CliRunner.RunAsync(
            ["lookup", "--list", TestFiles.DataPath("matching/haystack.txt"), TestFiles.DataPath("matching/needles.txt")],
            cancellation.Token);

        Assert.That(result.ExitCode, Is.EqualTo(130));
    }
}
