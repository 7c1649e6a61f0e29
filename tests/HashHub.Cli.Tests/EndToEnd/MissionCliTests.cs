using System.Text.Json;
using HashHub.Cli.Tests.Infrastructure;
using HashHub.Server.Tests.EndToEnd;
using SkiaSharp;

namespace HashHub.Cli.Tests.EndToEnd;

/// <summary>
/// The mission through the CLI, over real sockets: a real hub process, members A and B registered with the hub's own
/// <c>admin add-member</c>, each logged in to its own profile. A's takedown makes B's <c>hashhub match</c> of a
/// re-encoded and of a half-size copy exit 1 with A's labels; A's retraction brings it back to exit 0.
/// </summary>
[NonParallelizable]
public sealed class MissionCliTests
{
    private const string Photo = "pdq-vectors/images/pdq-data/reg-test-input/dih/bridge-1-original.jpg";
    private const string Admin = "Consortium Admins";
    private readonly Dictionary<string, (string ClientId, string Secret)> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _memberIds = new(StringComparer.Ordinal);
    private string _root = "";
    private HubProcess _hub = null!;

    private string HubUrl => $"http://127.0.0.1:{_hub.GrpcPort}";

    private string Config => Path.Combine(_root, "config", "profiles.json");

    [OneTimeSetUp]
    public async Task StartHub()
    {
        _root = Path.Combine(TestFiles.ScratchRoot, "mission-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_root);
        _hub = new HubProcess(["--Storage:Provider=Sqlite", $"--Storage:DataDirectory={Path.Combine(_root, "hub")}", "--RateLimits:Enabled=false"]);
        // SQLite admits one writer: members are registered before the hub starts. The admin creates the sharing group
        // of the --group test.
        Register(Admin, await _hub.RunCommandAsync("admin", "bootstrap", Admin));
        foreach (var member in new[] { "Platform A", "Platform B", "Platform C" })
        {
            Register(member, await _hub.RunCommandAsync("admin", "add-member", member, "--no-probation"));
        }
        await _hub.StartAsync();
    }

    private void Register(string member, string printed)
    {
        var fields = printed.Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal))
            .Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
        _members[member] = (fields["client_id"], fields["client_secret"]);
        _memberIds[member] = fields["member_id"];
    }

    /// <summary>Creates a sharing group of <paramref name="members"/> with the admin's credential (the CLI has no admin commands).</summary>
    private async Task<string> CreateSharingGroupAsync(string name, params string[] members)
    {
        await using var admin = await Client.HashHubClient.OpenAsync(new Client.HubClientOptions
        {
            HubAddress = new Uri(HubUrl),
            ClientId = _members[Admin].ClientId,
            ClientSecret = _members[Admin].Secret,
        });
        var groups = new Protos.V1.SharingGroups.SharingGroupsClient(admin.Invoker);
        var group = await groups.CreateSharingGroupAsync(new Protos.V1.CreateSharingGroupRequest { Name = name });
        foreach (var member in members)
        {
            await groups.AddSharingGroupMemberAsync(new Protos.V1.SharingGroupMemberRequest { GroupId = group.Id, MemberId = _memberIds[member], Reason = "test" });
        }
        return group.Id;
    }

    [OneTimeTearDown]
    public void StopHub()
    {
        _hub.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
    }

    private Task<CliResult> Run(params string[] args) => CliRunner.RunAsync([.. args, "--config", Config]);

    private async Task LoginAsync(string member, string profile)
    {
        var (clientId, secret) = _members[member];
        var result = await CliRunner.RunAsync(
            ["login", "--hub", HubUrl, "--client-id", clientId, "--secret-stdin", "--profile", profile, "--config", Config], secret + "\n");
        Assert.That(result.ExitCode, Is.Zero, result.Error);
    }

    [Test]
    public async Task Login_WrongSecret_ExitCode2AndNoProfileSaved()
    {
        var config = Path.Combine(_root, "wrong", "profiles.json");

        var result = await CliRunner.RunAsync(
            ["login", "--hub", HubUrl, "--client-id", _members["Platform A"].ClientId, "--secret-stdin", "--config", config], "not-the-secret\n");

        Assert.That(result.ExitCode, Is.EqualTo(2), result.Out);
        Assert.That(result.Error, Does.Contain("Unauthenticated"));
        Assert.That(File.Exists(config), Is.False);
    }

    [Test]
    [Order(1)] // before the watch test adds a signal of its own to the shared hub: the status below counts active signals
    public async Task Takedown_SubmittedByA_MatchedByBThroughTheCli_UntilARetracts()
    {
        await LoginAsync("Platform A", "a");
        await LoginAsync("Platform B", "b");
        if (!OperatingSystem.IsWindows())
        {
            Assert.That(File.GetUnixFileMode(Config), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite), "the profiles file holds secrets");
        }

        var original = await File.ReadAllBytesAsync(TestFiles.DataPath(Photo));
        var reencoded = Write("reencoded-q70.jpg", Reencode(original, quality: 70, scale: 1));
        var halfSize = Write("half-size.jpg", Reencode(original, quality: 90, scale: 2));

        // B has synced the (empty) list: nothing matches yet. A first sync starts from the hub's snapshot.
        var first = await Run("sync", "--profile", "b");
        Assert.That(first.ExitCode, Is.Zero, first.Error);
        Assert.That(first.Out, Does.Contain("first sync (bootstrap), from the hub's snapshot"));
        Assert.That((await Run("match", reencoded, "--profile", "b")).ExitCode, Is.Zero);

        // A takes the photo down; the CLI prints the contribution ids to retract with.
        var submit = await Run("submit", TestFiles.DataPath(Photo), "--label", "behavior:glorification", "--label", "content_type:image",
            "--source", "user_report", "--case-ref", "A-2026-0042", "--profile", "a");
        Assert.That(submit.ExitCode, Is.Zero, submit.Error);
        var contributions = submit.OutLines.Where(l => l.Contains("contribution ", StringComparison.Ordinal))
            .Select(l => l[(l.IndexOf("contribution ", StringComparison.Ordinal) + "contribution ".Length)..].Split(' ')[0])
            .ToList();
        Assert.That(contributions, Has.Count.EqualTo(3), submit.Out); // pdq, md5, sha256

        var sync = await Run("sync", "--profile", "b");
        Assert.That(sync.ExitCode, Is.Zero, sync.Error);
        Assert.That(sync.Out, Does.Contain("applied 3 changes").And.Contain("cursor "));

        foreach (var copy in new[] { reencoded, halfSize })
        {
            var match = await Run("match", copy, "--json", "--profile", "b");
            Assert.That(match.ExitCode, Is.EqualTo(1), $"{copy}: {match.Out}{match.Error}");
            using var json = JsonDocument.Parse(match.OutLines.Single());
            var pdq = json.RootElement.GetProperty("matches").EnumerateArray().Single(m => m.GetProperty("type").GetString() == "pdq");
            Assert.That(pdq.GetProperty("labels").EnumerateArray().Select(l => l.GetString()),
                Is.EquivalentTo(new[] { "behavior:glorification", "content_type:image" }));
            Assert.That(pdq.GetProperty("contributors").EnumerateArray().Select(c => c.GetString()), Is.EqualTo(new[] { "Platform A" }));
            Assert.That(pdq.GetProperty("distance").GetInt32(), Is.LessThanOrEqualTo(31));
            Assert.That(json.RootElement.GetProperty("action").GetString(), Is.Not.EqualTo("allow"));
        }
        var text = await Run("match", halfSize, "--profile", "b");
        Assert.That(text.ExitCode, Is.EqualTo(1));
        Assert.That(text.Out, Does.Contain("labels       behavior:glorification").And.Contain("contributors Platform A"));

        // Hub-side matching finds it too, without B's store.
        Assert.That((await Run("match", reencoded, "--hub-side", "--profile", "b")).ExitCode, Is.EqualTo(1));

        foreach (var id in contributions)
        {
            var retract = await Run("retract", id, "--reason", "false positive", "--profile", "a");
            Assert.That(retract.ExitCode, Is.Zero, retract.Error);
        }
        Assert.That((await Run("sync", "--profile", "b")).ExitCode, Is.Zero);

        var after = await Run("match", reencoded, halfSize, "--profile", "b");
        Assert.That(after.ExitCode, Is.Zero, after.Out);
        Assert.That(after.OutLines, Has.All.EndsWith(": no match"));

        var status = await Run("status", "--profile", "b");
        Assert.That(status.ExitCode, Is.Zero, status.Error);
        Assert.That(status.Out, Does.Contain("(0 active)").And.Not.Contain("never synced"));
    }

    [Test]
    [Order(2)]
    public async Task Watch_UntilCancelled_PrintsEachBurstAndExits130()
    {
        await LoginAsync("Platform A", "wa");
        await LoginAsync("Platform B", "wb");
        using var output = new StringWriter();
        using var error = new StringWriter();
        // The command writes from the SDK's sync loop while this test reads.
        var synchronizedOut = TextWriter.Synchronized(output);
        using var stop = new CancellationTokenSource();
        var app = Program.Create(new Cli.Infrastructure.CliOutput(synchronizedOut, error));
        var watch = app.RunAsync(["watch", "--profile", "wb", "--config", Config], stop.Token);
        string Printed() { lock (synchronizedOut) { return output.ToString(); } }

        await WaitForAsync(() => Printed().Contains("caught up", StringComparison.Ordinal), "watch caught up");
        // Not the mission's photo: the tests share the hub, and the mission asserts what B's list holds.
        var takedown = Write("watch-" + Guid.NewGuid().ToString("N") + ".txt", System.Text.Encoding.UTF8.GetBytes(Guid.NewGuid().ToString()));
        var submit = await Run("submit", takedown, "--label", "behavior:glorification", "--profile", "wa");
        Assert.That(submit.ExitCode, Is.Zero, submit.Error);
        await WaitForAsync(() => Printed().Contains("applied ", StringComparison.Ordinal), "watch applied A's takedown");
        await stop.CancelAsync();

        Assert.That(await watch, Is.EqualTo(130), error.ToString());
        Assert.That(Printed(), Does.Contain("connected").And.Contain("stopped"));
        // B's store was new: it was filled from the hub's snapshot before the subscription.
        Assert.That(Printed(), Does.Match("loaded [0-9]+ signal\\(s\\) from the hub's snapshot").And.Not.Contain("disconnected"));
    }

    [Test]
    [Order(3)]
    public async Task Status_HubGotChangesSinceTheSync_ShowsTheLagUntilTheNextSync()
    {
        await LoginAsync("Platform A", "la");
        await LoginAsync("Platform B", "lb");
        Assert.That((await Run("sync", "--profile", "lb")).ExitCode, Is.Zero);
        var synced = await Run("status", "--profile", "lb");

        var takedown = Write("lag-" + Guid.NewGuid().ToString("N") + ".txt", System.Text.Encoding.UTF8.GetBytes(Guid.NewGuid().ToString()));
        Assert.That((await Run("submit", takedown, "--label", "behavior:glorification", "--profile", "la")).ExitCode, Is.Zero);
        var behind = await Run("status", "--profile", "lb");
        var behindJson = await Run("status", "--json", "--profile", "lb");
        var offline = await Run("status", "--offline", "--profile", "lb");
        Assert.That((await Run("sync", "--profile", "lb")).ExitCode, Is.Zero);
        var after = await Run("status", "--json", "--profile", "lb");

        Assert.That(synced.ExitCode, Is.Zero, synced.Error);
        Assert.That(synced.Out, Does.Contain("lag             up to date (0 changes behind)"));
        // A text file has no PDQ: md5 and sha256, two changes the hub holds after B's cursor.
        Assert.That(behind.ExitCode, Is.Zero, behind.Error);
        Assert.That(behind.Out, Does.Match(@"lag +at most 2 changes behind; the hub's newest change is [0-9.smhd ]+ newer than the cursor's"));
        using (var json = JsonDocument.Parse(behindJson.OutLines.Single()))
        {
            var lag = json.RootElement.GetProperty("lag");
            Assert.That(lag.GetProperty("changes_behind").GetInt64(), Is.EqualTo(2));
            Assert.That(lag.GetProperty("seconds_behind").GetDouble(), Is.GreaterThanOrEqualTo(0));
            Assert.That(json.RootElement.GetProperty("lag_error").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(json.RootElement.GetProperty("signals_held").GetInt64(), Is.GreaterThanOrEqualTo(0));
        }
        // Offline: the figure saved with the cursor at the last sync.
        Assert.That(offline.Out, Does.Contain("lag             not asked (--offline)").And.Contain("last known lag  up to date (0 changes behind) (as of "));
        using (var json = JsonDocument.Parse(after.OutLines.Single()))
        {
            Assert.That(json.RootElement.GetProperty("lag").GetProperty("changes_behind").GetInt64(), Is.Zero);
            Assert.That(json.RootElement.GetProperty("lag").GetProperty("seconds_behind").GetDouble(), Is.Zero);
            Assert.That(json.RootElement.GetProperty("last_known_lag").GetProperty("changes_behind").GetInt64(), Is.Zero);
        }
    }

    [Test]
    [Order(4)]
    public async Task Submit_WithGroup_ReachesTheGroupOnly_AndAGroupNotJoinedIsRefusedWithTheField()
    {
        var group = await CreateSharingGroupAsync("CLI task force", "Platform A", "Platform B");
        await LoginAsync("Platform A", "ga");
        await LoginAsync("Platform B", "gb");
        await LoginAsync("Platform C", "gc");
        var takedown = Write("group-" + Guid.NewGuid().ToString("N") + ".txt", System.Text.Encoding.UTF8.GetBytes(Guid.NewGuid().ToString()));
        Assert.That((await Run("sync", "--profile", "gb")).ExitCode, Is.Zero);
        Assert.That((await Run("sync", "--profile", "gc")).ExitCode, Is.Zero);

        var submit = await Run("submit", takedown, "--label", "behavior:glorification", "--group", group, "--profile", "ga");
        var member = await Run("sync", "--profile", "gb");
        var outsider = await Run("sync", "--profile", "gc");
        var refused = await Run("submit", takedown, "--label", "behavior:glorification", "--group", group, "-g", "grp_0000000000000000", "--profile", "ga");

        Assert.That(submit.ExitCode, Is.Zero, submit.Error);
        Assert.That(submit.OutLines.Count(l => l.Contains("contribution ", StringComparison.Ordinal)), Is.EqualTo(2), submit.Out); // md5, sha256
        Assert.That(member.Out, Does.Contain("applied 2 changes"));
        Assert.That(outsider.Out, Does.Contain("applied 0 changes"));
        Assert.That((await Run("match", takedown, "--profile", "gb")).ExitCode, Is.EqualTo(1));
        Assert.That((await Run("match", takedown, "--profile", "gc")).ExitCode, Is.Zero);
        // Refused: exit 2, the refused --group named once with the hub's field, nothing recorded (C's sync stays empty too).
        Assert.That(refused.ExitCode, Is.EqualTo(2), refused.Out);
        Assert.That(refused.Error, Does.Contain("the hub refused the contribution (InvalidArgument); nothing was recorded"));
        Assert.That(refused.Error.Split('\n').Count(l => l.Contains("--group grp_0000000000000000: is not a sharing group the caller belongs to (sharing_group_ids[1])", StringComparison.Ordinal)),
            Is.EqualTo(1), refused.Error);
        Assert.That(refused.Error, Does.Not.Contain("--group " + group + ":"));
        Assert.That((await Run("sync", "--profile", "gb")).Out, Does.Contain("applied 0 changes"));
    }

    /// <summary>Waits for another task to make a condition true; the bound only turns a hang into a failure.</summary>
    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"gave up waiting for: {what}");
            }
            await Task.Delay(20);
        }
    }

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(_root, name);
        File.WriteAllBytes(path, content);
        return path;
    }

    /// <summary>The image decoded, shrunk by <paramref name="scale"/> and saved again as JPEG: other bytes, nearly the same picture.</summary>
    private static byte[] Reencode(byte[] image, int quality, int scale)
    {
        using var bitmap = SKBitmap.Decode(image);
        using var resized = scale == 1
            ? bitmap.Copy()
            : bitmap.Resize(new SKImageInfo(bitmap.Width / scale, bitmap.Height / scale), new SKSamplingOptions(SKFilterMode.Linear, SKMipmapMode.Linear));
        using var pixels = SKImage.FromBitmap(resized);
        using var encoded = pixels.Encode(SKEncodedImageFormat.Jpeg, quality);
        return encoded.ToArray();
    }
}
