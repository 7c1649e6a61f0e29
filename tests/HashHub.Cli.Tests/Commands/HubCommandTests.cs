using HashHub.Cli.Tests.Infrastructure;

namespace HashHub.Cli.Tests.Commands;

/// <summary>The hub commands' argument checks and exit codes, without a hub.</summary>
public sealed class HubCommandTests
{
    private static string ScratchConfig()
    {
        var dir = Path.Combine(TestFiles.ScratchRoot, TestContext.CurrentContext.Test.ID);
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, "profiles.json");
    }

    [TestCase("login")]
    [TestCase("match")]
    [TestCase("sync")]
    [TestCase("submit")]
    [TestCase("retract")]
    [TestCase("status")]
    [TestCase("watch")]
    public async Task Help_EveryHubCommand_ShowsAnExampleAndTheProfileOption(string command)
    {
        var result = await CliRunner.RunAsync(command, "--help");

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.Out, Does.Contain("EXAMPLES:").And.Contain("hashhub " + command).And.Contain("--profile"));
    }

    [Test]
    public async Task Login_BothSecretOptions_ExitCode2()
    {
        var result = await CliRunner.RunAsync(
            ["login", "--hub", "http://127.0.0.1:1", "--client-id", "x", "--client-secret", "s", "--secret-stdin", "--config", ScratchConfig()], "s");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("not both"));
    }

    [Test]
    public async Task Login_NoSecret_ExitCode2()
    {
        var result = await CliRunner.RunAsync("login", "--hub", "http://127.0.0.1:1", "--client-id", "x", "--config", ScratchConfig());

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--secret-stdin"));
    }

    [TestCase("hub.example.org")]
    [TestCase("ftp://hub.example.org")]
    public async Task Login_HubNotAnHttpUrl_ExitCode2(string hub)
    {
        var result = await CliRunner.RunAsync("login", "--hub", hub, "--client-id", "x", "--client-secret", "s", "--config", ScratchConfig());

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--hub"));
    }

    [Test]
    public async Task Login_EmptyStdin_ExitCode2AndNoProfileWritten()
    {
        var config = ScratchConfig();

        var result = await CliRunner.RunAsync(["login", "--hub", "http://127.0.0.1:1", "--client-id", "x", "--secret-stdin", "--config", config], "");

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(File.Exists(config), Is.False);
    }

    [Test]
    public async Task Submit_NoLabel_ExitCode2()
    {
        var result = await CliRunner.RunAsync("submit", "a.jpg", "--config", ScratchConfig());

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--label"));
    }

    [Test]
    public async Task Submit_UnknownSource_ExitCode2()
    {
        var result = await CliRunner.RunAsync("submit", "a.jpg", "--label", "behavior:glorification", "--source", "rumour", "--config", ScratchConfig());

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--source").And.Contain("rumour"));
    }

    [Test]
    public async Task Submit_EmptyGroup_ExitCode2()
    {
        var result = await CliRunner.RunAsync("submit", "a.jpg", "--label", "behavior:glorification", "--group", " ", "--config", ScratchConfig());

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--group"));
    }

    [Test]
    public async Task Match_NoFile_ExitCode2()
    {
        var result = await CliRunner.RunAsync("match", "--config", ScratchConfig());

        Assert.That(result.ExitCode, Is.EqualTo(2));
    }

    [TestCase("match", "a.jpg")]
    [TestCase("sync")]
    [TestCase("status")]
    [TestCase("retract", "c-1")]
    [TestCase("submit", "a.jpg", "--label", "behavior:glorification")]
    public async Task HubCommand_NoProfilesFile_ExitCode2SaysLogin(params string[] args)
    {
        var result = await CliRunner.RunAsync([.. args, "--config", ScratchConfig()]);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("hashhub login"));
        Assert.That(result.Out, Is.Empty);
    }

    [Test]
    public async Task Status_UnknownProfile_ExitCode2NamesIt()
    {
        var config = ScratchConfig();
        await File.WriteAllTextAsync(config, """{ "default": { "hub": "http://127.0.0.1:1", "client_id": "x", "client_secret": "s", "store": "s.db" } }""");

        var result = await CliRunner.RunAsync("status", "--profile", "staging", "--config", config);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("no profile 'staging'"));
    }

    [Test]
    public async Task Status_MalformedProfilesFile_ExitCode2()
    {
        var config = ScratchConfig();
        await File.WriteAllTextAsync(config, "{ not json");

        var result = await CliRunner.RunAsync("status", "--config", config);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("not valid"));
    }

    [Test]
    public async Task Status_NeverSynced_ShowsEmptyStore()
    {
        var config = ScratchConfig();
        var store = Path.Combine(Path.GetDirectoryName(config)!, "store.db");
        await File.WriteAllTextAsync(config, $$"""{ "default": { "hub": "http://127.0.0.1:1", "client_id": "x", "client_secret": "s", "store": "{{store}}" } }""");

        var result = await CliRunner.RunAsync("status", "--config", config);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.Out, Does.Contain("(never synced)").And.Contain("signals held    0").And.Contain("last sync       never"));
        // The local part shows without the hub; the lag line says the hub did not answer.
        Assert.That(result.Out, Does.Contain("lag             the hub did not answer (Unavailable"));
        Assert.That(result.Out, Does.Not.Contain("last known lag"));
    }
}
