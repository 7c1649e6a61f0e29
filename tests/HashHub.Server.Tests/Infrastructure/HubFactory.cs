using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using HashHub.Server.Auth;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Tests.Infrastructure;

/// <summary>
/// The real hub in-process (TestServer) over a real database: a fresh SQLite file or a fresh PostgreSQL database.
/// </summary>
internal sealed class HubFactory : WebApplicationFactory<Program>
{
    private readonly Dictionary<string, string?> _settings;

    private HubFactory(string dataDirectory, Dictionary<string, string?> settings)
    {
        DataDirectory = dataDirectory;
        _settings = settings;
    }

    public string DataDirectory { get; }

    public static async Task<HubFactory> CreateAsync(StorageProvider provider, IDictionary<string, string?>? extra = null)
    {
        var dataDirectory = Path.Combine(Path.GetTempPath(), "hashhub-test-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dataDirectory);
        var settings = new Dictionary<string, string?>
        {
            ["Storage:Provider"] = provider.ToString(),
            ["Storage:DataDirectory"] = dataDirectory,
            ["Logging:LogLevel:Default"] = "Warning",
            // Tests make calls faster than any member would; the rate-limit tests turn the limits back on.
            ["RateLimits:Enabled"] = "false",
        };
        if (provider == StorageProvider.Postgres)
        {
            settings["Storage:ConnectionString"] = await (await TestEnvironment.Postgres).CreateDatabaseAsync();
        }
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>())
        {
            settings[k] = v;
        }
        var factory = new HubFactory(dataDirectory, settings);
        _ = factory.Server; // start now: migrations run here, not in the middle of a test
        return factory;
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings)
        {
            builder.UseSetting(key, value);
        }
    }

    /// <summary>
    /// Registers a member (as the <c>admin add-member</c> command does) and returns its credential. Not on probation
    /// (<c>--no-probation</c>) unless <paramref name="probation"/>: most tests are about sharing, not vetting.
    /// </summary>
    public async Task<IssuedCredential> AddMemberAsync(string name, bool isAdmin = false, string[]? scopes = null, bool probation = false)
    {
        await using var scope = Services.CreateAsyncScope();
        var admin = scope.ServiceProvider.GetRequiredService<MemberAdministration>();
        return await admin.AddMemberAsync(name, isAdmin, scopes ?? HubScopes.All, CancellationToken.None, skipProbation: !probation);
    }

    public async Task<string> GetTokenAsync(IssuedCredential credential, string? scope = null)
    {
        using var http = CreateClient();
        return await TokenRequests.GetAccessTokenAsync(http, new Uri(http.BaseAddress!, "/connect/token"), credential.ClientId, credential.ClientSecret, scope);
    }

    /// <summary>A gRPC channel to the in-process hub; every call carries <paramref name="token"/> when given.</summary>
    public HubClient Connect(string? token)
    {
        var channel = GrpcChannel.ForAddress(Server.BaseAddress, new GrpcChannelOptions
        {
            HttpHandler = Server.CreateHandler(),
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        var invoker = token is null
            ? channel.CreateCallInvoker()
            : channel.Intercept(metadata =>
            {
                metadata.Add("Authorization", "Bearer " + token);
                return metadata;
            });
        return new HubClient(channel, invoker);
    }

    public async Task<HubClient> ConnectAsAsync(IssuedCredential credential) => Connect(await GetTokenAsync(credential));

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // A file still open on a slow shutdown; the OS temp cleaner takes it.
            }
        }
    }
}

/// <summary>The typed clients of every hub service over one channel.</summary>
internal sealed class HubClient(GrpcChannel channel, CallInvoker invoker) : IDisposable
{
    public Proto.Contributions.ContributionsClient Contributions { get; } = new(invoker);
    public Proto.Sync.SyncClient Sync { get; } = new(invoker);
    public Proto.Snapshots.SnapshotsClient Snapshots { get; } = new(invoker);
    public Proto.Taxonomy.TaxonomyClient Taxonomy { get; } = new(invoker);
    public Proto.Audit.AuditClient Audit { get; } = new(invoker);
    public Proto.Members.MembersClient Members { get; } = new(invoker);
    public Proto.Applications.ApplicationsClient Applications { get; } = new(invoker);
    public Proto.SharingGroups.SharingGroupsClient SharingGroups { get; } = new(invoker);
    public Proto.Probation.ProbationClient Probation { get; } = new(invoker);
    public Proto.Matching.MatchingClient Matching { get; } = new(invoker);
    public CallInvoker Invoker => invoker;

    public void Dispose() => channel.Dispose();
}
