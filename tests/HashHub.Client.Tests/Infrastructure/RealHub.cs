using System.Security.Cryptography;
using Grpc.Core;
using HashHub.Protos.V1;
using HashHub.Server.Tests.EndToEnd;

namespace HashHub.Client.Tests.Infrastructure;

/// <summary>
/// A real hub process on loopback ports over its own SQLite file, with members registered by the hub's own
/// <c>admin add-member</c> command, and the SDK options each member would use.
/// </summary>
internal sealed class RealHub : IAsyncDisposable
{
    /// <summary>The name under which <see cref="StartWithAdminAsync"/> registers the consortium's admin organisation.</summary>
    public const string Admin = "Consortium Admins";

    private readonly Dictionary<string, (string ClientId, string Secret)> _members = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _memberIds = new(StringComparer.Ordinal);
    private readonly string _root;

    private RealHub(string root, HubProcess process)
    {
        _root = root;
        Process = process;
    }

    public HubProcess Process { get; }

    public Uri Address => new($"http://127.0.0.1:{Process.GrpcPort}");

    /// <summary>
    /// Registers the members (off probation: these tests are about sharing between members, not vetting), then starts
    /// the hub (SQLite admits one writer: commands run before the hub).
    /// </summary>
    public static Task<RealHub> StartAsync(params string[] members) => StartAsync(["--RateLimits:Enabled=false"], members);

    /// <summary>As <see cref="StartAsync(string[])"/>, with the hub's own settings (command-line form).</summary>
    public static Task<RealHub> StartAsync(IEnumerable<string> settings, params string[] members) => StartAsync(settings, withAdmin: false, members);

    /// <summary>
    /// As <see cref="StartAsync(string[])"/>, with the consortium's admin organisation registered too (as
    /// <see cref="Admin"/>), for tests that need admin calls such as creating sharing groups.
    /// </summary>
    public static Task<RealHub> StartWithAdminAsync(params string[] members) => StartAsync(["--RateLimits:Enabled=false"], withAdmin: true, members);

    private static async Task<RealHub> StartAsync(IEnumerable<string> settings, bool withAdmin, string[] members)
    {
        var root = Path.Combine(Path.GetTempPath(), "hashhub-sdk-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(root);
        var process = new HubProcess([
            "--Storage:Provider=Sqlite", $"--Storage:DataDirectory={Path.Combine(root, "hub")}", .. settings,
        ]);
        var hub = new RealHub(root, process);
        if (withAdmin)
        {
            hub.Register(Admin, await process.RunCommandAsync("admin", "bootstrap", Admin));
        }
        foreach (var member in members)
        {
            hub.Register(member, await process.RunCommandAsync("admin", "add-member", member, "--no-probation"));
        }
        await process.StartAsync();
        return hub;
    }

    /// <summary>The hub's id of a registered member (mbr_...).</summary>
    public string MemberId(string member) => _memberIds[member];

    /// <summary>Creates a sharing group holding <paramref name="members"/>, through the admin's credential; returns its id.</summary>
    public async Task<string> CreateSharingGroupAsync(string name, params string[] members)
    {
        await using var admin = await OpenAsync(Admin);
        var groups = new SharingGroups.SharingGroupsClient(admin.Invoker);
        var group = await groups.CreateSharingGroupAsync(new CreateSharingGroupRequest { Name = name });
        foreach (var member in members)
        {
            await groups.AddSharingGroupMemberAsync(new SharingGroupMemberRequest { GroupId = group.Id, MemberId = MemberId(member), Reason = "test" });
        }
        return group.Id;
    }

    private void Register(string member, string printed)
    {
        var fields = printed.Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal))
            .Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
        _members[member] = (fields["client_id"], fields["client_secret"]);
        _memberIds[member] = fields["member_id"];
    }

    /// <summary>A fresh store path under this hub's scratch folder.</summary>
    public string NewStorePath(string name) => Path.Combine(_root, "stores", name + "-" + Guid.NewGuid().ToString("N")[..6] + ".db");

    public HubClientOptions OptionsFor(string member, string? storePath = null) => new()
    {
        HubAddress = Address,
        ClientId = _members[member].ClientId,
        ClientSecret = _members[member].Secret,
        StorePath = storePath,
        Resilience = new() { BaseDelay = TimeSpan.FromMilliseconds(50), MaxDelay = TimeSpan.FromSeconds(1) },
    };

    public async Task<HashHubClient> OpenAsync(string member, string? storePath = null, Action<HubClientOptions>? configure = null)
    {
        var options = OptionsFor(member, storePath);
        configure?.Invoke(options);
        return await HashHubClient.OpenAsync(options);
    }

    /// <summary>The whole change log as the hub serves it: the number of changes and each signal's last state.</summary>
    public static async Task<(int Changes, Dictionary<string, SignalRecord> Signals)> ReadLogAsync(HashHubClient client)
    {
        var sync = new Protos.V1.Sync.SyncClient(client.Invoker);
        var cursor = string.Empty;
        var changes = 0;
        var signals = new Dictionary<string, SignalRecord>(StringComparer.Ordinal);
        while (true)
        {
            var page = await sync.ReadChangesAsync(new ReadChangesRequest { Cursor = cursor, PageSize = 5000 });
            changes += page.Changes.Count;
            foreach (var change in page.Changes)
            {
                signals[change.Signal.Id] = change.Signal;
            }
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return (changes, signals);
            }
        }
    }

    /// <summary>Submits random md5 and PDQ signals through the SDK's pipeline (no image needed).</summary>
    public static async Task<SubmitContributionsResponse> SubmitRandomAsync(HashHubClient client, int count, string label = "behavior:glorification")
    {
        var request = new SubmitContributionsRequest { IdempotencyKey = Guid.NewGuid().ToString("N") };
        for (var i = 0; i < count; i++)
        {
            var signal = i % 2 == 0
                ? new Protos.V1.Signal { Type = Protos.V1.SignalType.Md5, Value = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16)) }
                : new Protos.V1.Signal { Type = Protos.V1.SignalType.Pdq, Value = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)), Quality = 90 };
            var item = new ContributionInput { Signal = signal, SourceKind = SourceKind.Upload };
            item.Labels.Add(label);
            request.Items.Add(item);
        }
        return await client.ContributionsClient.SubmitContributionsAsync(request);
    }

    public static Task RetractRawAsync(HashHubClient client, string contributionId) =>
        client.ContributionsClient.RetractContributionAsync(new RetractContributionRequest { ContributionId = contributionId }).ResponseAsync;

    public ValueTask DisposeAsync()
    {
        Process.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a slow shutdown; the temp cleaner takes it.
        }
        return ValueTask.CompletedTask;
    }
}
