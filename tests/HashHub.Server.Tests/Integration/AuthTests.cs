using System.Net;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Reflection.V1Alpha;
using HashHub.Server.Auth;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

public sealed class AuthTests
{
    private HubFactory _hub = null!;

    [OneTimeSetUp]
    public async Task StartHub() => _hub = await HubFactory.CreateAsync(StorageProvider.Sqlite);

    [OneTimeTearDown]
    public void StopHub() => _hub.Dispose();

    [Test]
    public void EveryMemberRpc_WithoutToken_IsUnauthenticated()
    {
        using var anonymous = _hub.Connect(token: null);
        var calls = new Func<Task>[]
        {
            async () => await anonymous.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()))),
            async () => await anonymous.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = "1" }),
            async () => await anonymous.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = "1" }),
            async () => await anonymous.Contributions.UpdateContributionLabelsAsync(new Proto.UpdateContributionLabelsRequest { ContributionId = "1" }),
            async () => await anonymous.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()),
            async () =>
            {
                using var call = anonymous.Sync.Subscribe(new Proto.SubscribeRequest());
                await call.ResponseStream.MoveNext(CancellationToken.None);
            },
            async () => await anonymous.Taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest()),
            async () => await anonymous.Taxonomy.AddLabelAsync(new Proto.AddLabelRequest { Key = "entity:x", DisplayName = "X" }),
        };

        foreach (var call in calls)
        {
            var ex = Assert.ThrowsAsync<RpcException>(async () => await call());
            Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        }
    }

    [Test]
    public void ForgedToken_IsUnauthenticated()
    {
        using var forged = _hub.Connect("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.");

        var ex = Assert.ThrowsAsync<RpcException>(async () => await forged.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
    }

    /// <summary>
    /// Access tokens are encrypted with a symmetric key kept in the key folder (readable by the owner only); every
    /// call decrypts its token, and with an RSA key that was a private-key operation per call.
    /// </summary>
    [Test]
    public async Task AccessToken_IsEncryptedWithTheSymmetricKeyOfTheKeyFolder()
    {
        var token = await _hub.GetTokenAsync(await _hub.AddMemberAsync("Symmetric"));
        var keyFile = Path.Combine(_hub.DataDirectory, "keys", "token-encryption.key");

        var header = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(token);
        Assert.Multiple(() =>
        {
            Assert.That(header.Alg, Is.EqualTo("A256KW"), "the content key is wrapped with AES, not RSA");
            Assert.That(Convert.FromBase64String(File.ReadAllText(keyFile).Trim()), Has.Length.EqualTo(32));
            if (!OperatingSystem.IsWindows())
            {
                Assert.That(File.GetUnixFileMode(keyFile), Is.EqualTo(UnixFileMode.UserRead | UnixFileMode.UserWrite));
            }
            Assert.That(File.Exists(Path.Combine(_hub.DataDirectory, "keys", "encryption.pem")), Is.False, "no RSA encryption key is made any more");
        });
    }

    /// <summary>
    /// A hub whose key folder still holds the RSA encryption key of an earlier version accepts the tokens issued
    /// before the upgrade (encrypted with that key) until they expire, and issues new ones with the symmetric key.
    /// </summary>
    [Test]
    public async Task AccessToken_EncryptedWithThePreviousRsaKey_IsStillAccepted()
    {
        var keys = Path.Combine(Path.GetTempPath(), "hashhub-test-keys-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(keys);
        using var previousKey = System.Security.Cryptography.RSA.Create(2048);
        await File.WriteAllTextAsync(Path.Combine(keys, "encryption.pem"), previousKey.ExportPkcs8PrivateKeyPem());
        using var hub = await HubFactory.CreateAsync(StorageProvider.Sqlite, new Dictionary<string, string?> { ["Auth:KeyDirectory"] = keys });
        try
        {
            var issued = await hub.GetTokenAsync(await hub.AddMemberAsync("Upgraded"));
            Assert.That(new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(issued).Alg, Is.EqualTo("A256KW"), "new tokens use the symmetric key");

            // The same signed token, encrypted as the earlier version did: with the RSA key, and with another.
            string Reencrypted(System.Security.Cryptography.RSA rsa)
            {
                var handler = new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler();
                var outer = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(issued);
                var symmetric = new Microsoft.IdentityModel.Tokens.SymmetricSecurityKey(
                    Convert.FromBase64String(File.ReadAllText(Path.Combine(keys, "token-encryption.key")).Trim()));
                var signed = handler.DecryptToken(outer, new Microsoft.IdentityModel.Tokens.TokenValidationParameters { TokenDecryptionKey = symmetric });
                return handler.EncryptToken(signed,
                    new Microsoft.IdentityModel.Tokens.EncryptingCredentials(
                        new Microsoft.IdentityModel.Tokens.RsaSecurityKey(rsa),
                        Microsoft.IdentityModel.Tokens.SecurityAlgorithms.RsaOAEP, Microsoft.IdentityModel.Tokens.SecurityAlgorithms.Aes256CbcHmacSha512),
                    new Dictionary<string, object> { ["typ"] = outer.Typ });
            }
            using var stranger = System.Security.Cryptography.RSA.Create(2048);
            using var previous = hub.Connect(Reencrypted(previousKey));
            using var foreign = hub.Connect(Reencrypted(stranger));

            Assert.That((await previous.Taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest())).Labels, Is.Not.Empty);
            var ex = Assert.ThrowsAsync<RpcException>(async () => await foreign.Taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest()));
            Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        }
        finally
        {
            Directory.Delete(keys, recursive: true);
        }
    }

    [Test]
    public async Task HealthAndReflection_NeedNoToken()
    {
        using var anonymous = _hub.Connect(token: null);

        var health = await new Health.HealthClient(anonymous.Invoker).CheckAsync(new HealthCheckRequest());
        using var reflection = new ServerReflection.ServerReflectionClient(anonymous.Invoker).ServerReflectionInfo();
        await reflection.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = string.Empty });
        await reflection.RequestStream.CompleteAsync();
        Assert.That(await reflection.ResponseStream.MoveNext(CancellationToken.None), Is.True);

        Assert.That(health.Status, Is.EqualTo(HealthCheckResponse.Types.ServingStatus.Serving));
        Assert.That(reflection.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name), Is.SupersetOf(new[]
        {
            "hashhub.v1.Contributions", "hashhub.v1.Sync", "hashhub.v1.Snapshots", "hashhub.v1.Taxonomy", "hashhub.v1.Audit", "grpc.health.v1.Health",
        }));
    }

    [Test]
    public async Task TokenEndpoint_WrongSecret_IsRejected()
    {
        var member = await _hub.AddMemberAsync("Wrong Secret Co");

        var ex = Assert.ThrowsAsync<InvalidOperationException>(async () => await _hub.GetTokenAsync(member with { ClientSecret = "not-the-secret" }));

        Assert.That(ex!.Message, Does.Contain("invalid_client"));
    }

    [Test]
    public async Task TokenEndpoint_UnsupportedGrant_IsRejected()
    {
        using var http = _hub.CreateClient();
        using var response = await http.PostAsync(new Uri("/connect/token", UriKind.Relative),
            new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = "password", ["username"] = "x", ["password"] = "y" }));

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
    }

    [Test]
    public async Task ReadOnlyClient_CanSyncButNotContribute()
    {
        var member = await _hub.AddMemberAsync("Read Only Co", scopes: [HubScopes.Read]);
        using var client = await _hub.ConnectAsAsync(member);

        await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        var ex = Assert.ThrowsAsync<RpcException>(async () => await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()))));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
    }

    [Test]
    public async Task ReadOnlyClient_AskingForWriteScope_GetsNoToken()
    {
        var member = await _hub.AddMemberAsync("Greedy Co", scopes: [HubScopes.Read]);

        Assert.ThrowsAsync<InvalidOperationException>(async () => await _hub.GetTokenAsync(member, HubScopes.Write));
        Assert.That(await _hub.GetTokenAsync(member, HubScopes.Read), Is.Not.Empty);
    }

    [Test]
    public async Task SuspendedMember_ExistingTokenStopsWorkingAtOnce()
    {
        var member = await _hub.AddMemberAsync("Soon Suspended");
        using var client = await _hub.ConnectAsAsync(member);
        await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());

        await using (var scope = _hub.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
            await db.Members.Where(m => m.Id == member.MemberId).ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MemberStatus.Suspended));
        }

        var ex = Assert.ThrowsAsync<RpcException>(async () => await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()));
        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.ThrowsAsync<InvalidOperationException>(async () => await _hub.GetTokenAsync(member));
    }

    [Test]
    public async Task AddLabel_NeedsAdmin()
    {
        var admin = await _hub.AddMemberAsync("Consortium Admins", isAdmin: true);
        var member = await _hub.AddMemberAsync("Plain Member");
        using var adminClient = await _hub.ConnectAsAsync(admin);
        using var memberClient = await _hub.ConnectAsAsync(member);
        var request = new Proto.AddLabelRequest { Key = "entity:example_group", DisplayName = "Example Group", Description = "A listed entity." };

        var denied = Assert.ThrowsAsync<RpcException>(async () => await memberClient.Taxonomy.AddLabelAsync(request));
        var added = await adminClient.Taxonomy.AddLabelAsync(request);

        Assert.That(denied!.StatusCode, Is.EqualTo(StatusCode.PermissionDenied));
        Assert.That(added.Category, Is.EqualTo(Proto.LabelCategory.Entity));
        await memberClient.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5(), "entity:example_group")));
        var violations = await ContributionsTests.ViolationsOf(adminClient.Taxonomy.AddLabelAsync(new Proto.AddLabelRequest { Key = "colour:red", DisplayName = "Red" }).ResponseAsync);
        Assert.That(violations.Single().Field, Is.EqualTo("key"));
    }

    [Test]
    public async Task AdminCommands_BootstrapAndAddMember_PrintWorkingCredentials()
    {
        using var fresh = await HubFactory.CreateAsync(StorageProvider.Sqlite);
        var output = new StringWriter();

        var bootstrap = await AdminCommands.RunAsync(fresh.Services, ["admin", "bootstrap"], output);
        var again = await AdminCommands.RunAsync(fresh.Services, ["admin", "bootstrap"], new StringWriter());
        var add = await AdminCommands.RunAsync(fresh.Services, ["admin", "add-member", "Example Video Platform"], output);

        Assert.That((bootstrap, again, add), Is.EqualTo((0, 1, 0)));
        var lines = output.ToString().Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal)).Select(l => l.Split(':', 2)).ToList();
        var ids = lines.Where(l => l[0] == "client_id").Select(l => l[1].Trim()).ToList();
        var secrets = lines.Where(l => l[0] == "client_secret").Select(l => l[1].Trim()).ToList();
        var members = lines.Where(l => l[0] == "member_id").Select(l => l[1].Trim()).ToList();
        Assert.That(ids, Has.Count.EqualTo(2));
        using var member = await fresh.ConnectAsAsync(new IssuedCredential(members[1], "Example Video Platform", ids[1], secrets[1]));
        var response = await member.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var record = await member.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = response.Results[0].SignalId });
        Assert.That(record.Contributions.Single().Provenance.MemberName, Is.EqualTo("Example Video Platform"));
        using var admin = await fresh.ConnectAsAsync(new IssuedCredential(members[0], "Consortium admins", ids[0], secrets[0]));
        await admin.Taxonomy.AddLabelAsync(new Proto.AddLabelRequest { Key = "incident:test", DisplayName = "Test incident" });
    }
}
