using System.Security.Cryptography;
using Grpc.Core;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

/// <summary>Key clients: private_key_jwt client authentication (RFC 7523) instead of a shared secret.</summary>
public sealed class KeyClientTests
{
    private HubFactory _hub = null!;
    private HubClient _admin = null!;
    private IssuedCredential _member = null!;
    private HttpClient _http = null!;

    [SetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(StorageProvider.Sqlite);
        _admin = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Consortium Admins", isAdmin: true));
        _member = await _hub.AddMemberAsync("Keyed Platform");
        _http = _hub.CreateClient();
    }

    [TearDown]
    public void StopHub()
    {
        _http.Dispose();
        _admin.Dispose();
        _hub.Dispose();
    }

    [Test]
    public async Task EcdsaKeyClient_SignedAssertion_GetsTokenThatWorksOnGrpc()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = await IssueKeyClientAsync(ClientAssertions.PublicKeyPem(key));

        Assert.That(issued.ClientSecret, Is.Empty, "a key client has no secret");
        Assert.That(issued.Credential.AuthenticationMethod, Is.EqualTo("private_key_jwt"));
        var (token, error) = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, ClientAssertions.Create(issued.ClientId, new ECDsaSecurityKey(key)));
        Assert.That(error, Is.Null);
        using var client = _hub.Connect(token);
        var submitted = await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        Assert.That(submitted.Results, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task RsaKeyClient_GivenAsJwk_GetsToken()
    {
        using var rsa = RSA.Create(2048);
        var jwk = JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(false)));
        var issued = await IssueKeyClientAsync(System.Text.Json.JsonSerializer.Serialize(new { kty = "RSA", n = jwk.N, e = jwk.E }));

        var (token, error) = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId,
            ClientAssertions.Create(issued.ClientId, new RsaSecurityKey(rsa)));

        Assert.That(error, Is.Null);
        using var client = _hub.Connect(token);
        await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
    }

    [Test]
    public async Task KeyClient_BadAssertions_AreInvalidClient()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = await IssueKeyClientAsync(ClientAssertions.PublicKeyPem(key));
        var signing = new ECDsaSecurityKey(key);

        var wrongKey = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, ClientAssertions.Create(issued.ClientId, new ECDsaSecurityKey(otherKey)));
        var expired = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, ClientAssertions.Create(issued.ClientId, signing, expires: DateTime.UtcNow.AddMinutes(-10)));
        var wrongAudience = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, ClientAssertions.Create(issued.ClientId, signing, audience: "https://elsewhere.example/connect/token"));
        var tokenEndpointAudience = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, ClientAssertions.Create(issued.ClientId, signing, audience: ClientAssertions.TokenEndpoint));
        var otherClient = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, ClientAssertions.Create("hh_someoneelse", signing));
        var secretInstead = await TryTokenWithSecretAsync(issued.ClientId, "guessed-secret");

        Assert.Multiple(() =>
        {
            Assert.That(wrongKey, Is.EqualTo(((string?)null, "invalid_client")), "wrong key");
            Assert.That(expired, Is.EqualTo(((string?)null, "invalid_client")), "expired");
            Assert.That(wrongAudience, Is.EqualTo(((string?)null, "invalid_client")), "wrong audience");
            Assert.That(tokenEndpointAudience, Is.EqualTo(((string?)null, "invalid_client")), "only the issuer is an accepted audience");
            Assert.That(otherClient, Is.EqualTo(((string?)null, "invalid_client")), "iss and sub must be the client id");
            Assert.That(secretInstead, Is.EqualTo("invalid_client"), "a key client cannot use a secret");
        });
    }

    [Test]
    public async Task KeyClient_ReplayedAssertion_IsRejected()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = await IssueKeyClientAsync(ClientAssertions.PublicKeyPem(key));
        var assertion = ClientAssertions.Create(issued.ClientId, new ECDsaSecurityKey(key));

        var first = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, assertion);
        var replay = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, assertion);

        Assert.That(first.Error, Is.Null);
        Assert.That(replay, Is.EqualTo(((string?)null, "invalid_client")));
    }

    [Test]
    public async Task KeyClient_RotateAndRevoke_ApplyAsToSecretClients_AndAreAudited()
    {
        using var oldKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var issued = await IssueKeyClientAsync(ClientAssertions.PublicKeyPem(oldKey));
        var (oldToken, _) = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, ClientAssertions.Create(issued.ClientId, new ECDsaSecurityKey(oldKey)));

        var missingKey = Assert.ThrowsAsync<RpcException>(async () => await _admin.Members.RotateCredentialAsync(new Proto.RotateCredentialRequest { ClientId = issued.ClientId }));
        Assert.That(missingKey!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument), "a key client rotates to a new key");

        var rotated = await _admin.Members.RotateCredentialAsync(new Proto.RotateCredentialRequest
        {
            ClientId = issued.ClientId,
            PublicKey = ClientAssertions.PublicKeyPem(newKey),
            GracePeriod = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero),
        });
        var (newToken, newError) = await ClientAssertions.RequestTokenAsync(_http, rotated.ClientId, ClientAssertions.Create(rotated.ClientId, new ECDsaSecurityKey(newKey)));
        var oldAfterRotation = await ClientAssertions.RequestTokenAsync(_http, issued.ClientId, ClientAssertions.Create(issued.ClientId, new ECDsaSecurityKey(oldKey)));
        using var oldClient = _hub.Connect(oldToken);
        var oldTokenStatus = StatusOf(() => oldClient.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()).ResponseAsync);

        await _admin.Members.RevokeCredentialAsync(new Proto.RevokeCredentialRequest { ClientId = rotated.ClientId, Reason = "key leaked" });
        using var newClient = _hub.Connect(newToken);
        var revokedStatus = StatusOf(() => newClient.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()).ResponseAsync);
        var afterRevoke = await ClientAssertions.RequestTokenAsync(_http, rotated.ClientId, ClientAssertions.Create(rotated.ClientId, new ECDsaSecurityKey(newKey)));
        var audit = await _admin.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 100 });

        Assert.Multiple(() =>
        {
            Assert.That(newError, Is.Null);
            Assert.That(oldAfterRotation.Error, Is.EqualTo("invalid_client"), "old key stops after a zero grace period");
            Assert.That(oldTokenStatus, Is.EqualTo(StatusCode.PermissionDenied), "its unexpired token stops at once");
            Assert.That(revokedStatus, Is.EqualTo(StatusCode.PermissionDenied));
            Assert.That(afterRevoke.Error, Is.EqualTo("invalid_client"));
            var issues = audit.Entries.Where(e => e.Action == "credential.issue" && (e.Target == issued.ClientId || e.Target == rotated.ClientId)).ToList();
            Assert.That(issues, Has.Count.EqualTo(2));
            Assert.That(issues.Select(e => e.Details), Has.All.Contain("private_key_jwt").And.All.Contain("key_thumbprint"));
            Assert.That(audit.Entries.Select(e => (e.Action, e.Target)), Does.Contain(("credential.rotate", issued.ClientId)).And.Contain(("credential.revoke", rotated.ClientId)));
        });
    }

    [TestCase("-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----")]
    [TestCase("not a key")]
    [TestCase("{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"a\",\"y\":\"b\",\"d\":\"c\"}")]
    [TestCase("{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"}")]
    public void IssueCredential_BadPublicKey_IsInvalidArgumentOnPublicKey(string publicKey)
    {
        var violations = ContributionsTests.ViolationsOf(_admin.Members.IssueCredentialAsync(new Proto.IssueCredentialRequest { MemberId = _member.MemberId, PublicKey = publicKey }).ResponseAsync).Result;

        Assert.That(violations.Select(v => v.Field), Is.EqualTo(new[] { "public_key" }));
    }

    [Test]
    public void IssueCredential_RsaKeyUnder2048Bits_IsInvalidArgument()
    {
        using var rsa = RSA.Create(1024);
        var violations = ContributionsTests.ViolationsOf(_admin.Members.IssueCredentialAsync(new Proto.IssueCredentialRequest { MemberId = _member.MemberId, PublicKey = rsa.ExportSubjectPublicKeyInfoPem() }).ResponseAsync).Result;

        Assert.That(violations.Single().Description, Does.Contain("2,048"));
    }

    private async Task<Proto.IssueCredentialResponse> IssueKeyClientAsync(string publicKey) =>
        await _admin.Members.IssueCredentialAsync(new Proto.IssueCredentialRequest { MemberId = _member.MemberId, PublicKey = publicKey });

    private async Task<string?> TryTokenWithSecretAsync(string clientId, string secret)
    {
        try
        {
            await TokenRequests.GetAccessTokenAsync(_http, new Uri(_http.BaseAddress!, "/connect/token"), clientId, secret);
            return null;
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message.Contains("invalid_client", StringComparison.Ordinal) ? "invalid_client" : ex.Message;
        }
    }

    private static StatusCode StatusOf(Func<Task> call)
    {
        try
        {
            call().GetAwaiter().GetResult();
            return StatusCode.OK;
        }
        catch (RpcException ex)
        {
            return ex.StatusCode;
        }
    }
}
