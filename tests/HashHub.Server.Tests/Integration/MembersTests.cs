using Grpc.Core;
using HashHub.Server.Auth;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class MembersTests(StorageProvider provider)
{
    private HubFactory _hub = null!;
    private IssuedCredential _admin = null!;
    private HubClient _adminClient = null!;

    [SetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(provider);
        _admin = await _hub.AddMemberAsync("Consortium Admins", isAdmin: true);
        _adminClient = await _hub.ConnectAsAsync(_admin);
    }

    [TearDown]
    public void StopHub()
    {
        _adminClient.Dispose();
        _hub.Dispose();
    }

    [Test]
    public async Task SuspendAndReinstate_CutAndRestoreAccessAtOnce()
    {
        var member = await _hub.AddMemberAsync("Alpha Video");
        using var client = await _hub.ConnectAsAsync(member);
        var submitted = await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var get = new Proto.GetSignalRequest { SignalId = submitted.Results[0].SignalId };
        Assert.That((await _adminClient.Contributions.GetSignalAsync(get)).Contributions.Single().Provenance.MemberStatus, Is.EqualTo(Proto.MemberStatus.Active));

        var suspended = await SetStatus(member.MemberId, Proto.MemberStatus.Suspended, "terms breached");

        var marked = await _adminClient.Contributions.GetSignalAsync(get);
        Assert.That(marked.Contributions.Single().Provenance.MemberStatus, Is.EqualTo(Proto.MemberStatus.Suspended), "its contributions stay, marked");
        Assert.That(marked.Status, Is.EqualTo(Proto.SignalStatus.Active));

        Assert.That(suspended.Status, Is.EqualTo(Proto.MemberStatus.Suspended));
        Assert.That(suspended.ContributionCount, Is.EqualTo(1), "its contributions stay");
        Assert.That(StatusOf(() => client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()).ResponseAsync), Is.EqualTo(StatusCode.PermissionDenied));
        Assert.ThrowsAsync<InvalidOperationException>(async () => await _hub.GetTokenAsync(member));

        await SetStatus(member.MemberId, Proto.MemberStatus.Active, "remedied");

        await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        var audit = await _adminClient.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { PageSize = 100 });
        var statusEntries = audit.Entries.Where(e => e.Action == "member.status").ToList();
        Assert.That(statusEntries.Select(e => (e.ActorId, e.Target)), Is.EqualTo(new[] { (_admin.MemberId, member.MemberId), (_admin.MemberId, member.MemberId) }));
        Assert.That(statusEntries[0].Details, Does.Contain("terms breached"));
    }

    [Test]
    public async Task Revoke_IsFinal()
    {
        var member = await _hub.AddMemberAsync("Gone Co");

        await SetStatus(member.MemberId, Proto.MemberStatus.Revoked, "left the consortium");

        Assert.That(StatusOf(() => SetStatus(member.MemberId, Proto.MemberStatus.Active, "try again")), Is.EqualTo(StatusCode.FailedPrecondition));
        Assert.That(StatusOf(() => _adminClient.Members.IssueCredentialAsync(new Proto.IssueCredentialRequest { MemberId = member.MemberId }).ResponseAsync),
            Is.EqualTo(StatusCode.FailedPrecondition));
    }

    [Test]
    public void AdminSuspendingItsOwnOrganisation_IsRefused() =>
        Assert.That(StatusOf(() => SetStatus(_admin.MemberId, Proto.MemberStatus.Suspended, "oops")), Is.EqualTo(StatusCode.FailedPrecondition));

    [Test]
    public async Task SetStatus_WithoutReasonOrStatus_IsInvalidArgument()
    {
        var member = await _hub.AddMemberAsync("Beta");

        var noReason = await ContributionsTests.ViolationsOf(_adminClient.Members.SetMemberStatusAsync(new Proto.SetMemberStatusRequest { MemberId = member.MemberId, Status = Proto.MemberStatus.Suspended }).ResponseAsync);
        var noStatus = await ContributionsTests.ViolationsOf(_adminClient.Members.SetMemberStatusAsync(new Proto.SetMemberStatusRequest { MemberId = member.MemberId, Reason = "x" }).ResponseAsync);

        Assert.That((noReason.Single().Field, noStatus.Single().Field), Is.EqualTo(("reason", "status")));
    }

    [Test]
    public async Task IssueAndRevokeCredential_OnlyTheRevokedOneStops()
    {
        var member = await _hub.AddMemberAsync("Gamma Social");
        using var first = await _hub.ConnectAsAsync(member);

        var issued = await _adminClient.Members.IssueCredentialAsync(new Proto.IssueCredentialRequest { MemberId = member.MemberId, Scopes = { HubScopes.Read } });
        using var second = await _hub.ConnectAsAsync(new IssuedCredential(member.MemberId, member.MemberName, issued.ClientId, issued.ClientSecret));
        await second.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        Assert.That(issued.Credential.Scopes, Is.EqualTo(new[] { HubScopes.Read }));
        Assert.That(StatusOf(() => second.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()))).ResponseAsync), Is.EqualTo(StatusCode.PermissionDenied));

        var revoked = await _adminClient.Members.RevokeCredentialAsync(new Proto.RevokeCredentialRequest { ClientId = issued.ClientId, Reason = "laptop lost" });

        Assert.That(revoked.RevokedAt, Is.Not.Null);
        Assert.That(StatusOf(() => second.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()).ResponseAsync), Is.EqualTo(StatusCode.PermissionDenied));
        await first.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var listed = (await _adminClient.Members.ListMembersAsync(new Proto.ListMembersRequest())).Members.Single(m => m.Id == member.MemberId);
        Assert.That(listed.Credentials.Select(c => (c.ClientId, c.RevokedAt is not null)), Is.EqualTo(new[] { (member.ClientId, false), (issued.ClientId, true) }));
        Assert.That(listed.ContributionCount, Is.EqualTo(1));
        Assert.That(listed.Credentials[0].Scopes, Is.EquivalentTo(HubScopes.All));
    }

    [Test]
    public async Task Rotate_WithGrace_BothSecretsWorkUntilItEnds()
    {
        var member = await _hub.AddMemberAsync("Rotating Co", scopes: [HubScopes.Read]);
        using var old = await _hub.ConnectAsAsync(member);

        var rotated = await _adminClient.Members.RotateCredentialAsync(new Proto.RotateCredentialRequest
        {
            ClientId = member.ClientId, GracePeriod = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromHours(1)),
        });

        using var fresh = await _hub.ConnectAsAsync(member with { ClientId = rotated.ClientId, ClientSecret = rotated.ClientSecret });
        await old.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        await fresh.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        Assert.That(rotated.Credential.Scopes, Is.EqualTo(new[] { HubScopes.Read }), "the new credential keeps the old one's scopes");
        Assert.That(await _hub.GetTokenAsync(member), Is.Not.Empty, "the old secret still gets tokens during the grace period");
        var listed = (await _adminClient.Members.ListMembersAsync(new Proto.ListMembersRequest())).Members.Single(m => m.Id == member.MemberId);
        Assert.That(listed.Credentials[0].RevokedAt.ToDateTimeOffset(), Is.EqualTo(DateTimeOffset.UtcNow.AddHours(1)).Within(TimeSpan.FromMinutes(1)));
    }

    [Test]
    public async Task Rotate_WithoutGrace_OldSecretStopsAtOnce()
    {
        var member = await _hub.AddMemberAsync("Leaked Secret Co");
        using var old = await _hub.ConnectAsAsync(member);

        var rotated = await _adminClient.Members.RotateCredentialAsync(new Proto.RotateCredentialRequest
        {
            ClientId = member.ClientId, GracePeriod = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.Zero),
        });

        Assert.That(StatusOf(() => old.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()).ResponseAsync), Is.EqualTo(StatusCode.PermissionDenied));
        Assert.ThrowsAsync<InvalidOperationException>(async () => await _hub.GetTokenAsync(member));
        using var fresh = await _hub.ConnectAsAsync(member with { ClientId = rotated.ClientId, ClientSecret = rotated.ClientSecret });
        await fresh.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        Assert.That(StatusOf(() => _adminClient.Members.RotateCredentialAsync(new Proto.RotateCredentialRequest { ClientId = member.ClientId }).ResponseAsync),
            Is.EqualTo(StatusCode.FailedPrecondition), "a revoked credential cannot be rotated");
    }

    [Test]
    public void IssueCredential_UnknownScope_IsInvalidArgument()
    {
        var violations = ContributionsTests.ViolationsOf(_adminClient.Members.IssueCredentialAsync(new Proto.IssueCredentialRequest { MemberId = _admin.MemberId, Scopes = { "hashhub.everything" } }).ResponseAsync).Result;

        Assert.That(violations.Single().Field, Is.EqualTo("scopes[0]"));
    }

    private Task<Proto.MemberInfo> SetStatus(string memberId, Proto.MemberStatus status, string reason) =>
        _adminClient.Members.SetMemberStatusAsync(new Proto.SetMemberStatusRequest { MemberId = memberId, Status = status, Reason = reason }).ResponseAsync;

    private static StatusCode StatusOf(Func<Task> call) => Assert.ThrowsAsync<RpcException>(async () => await call())!.StatusCode;
}
