using Google.Protobuf.Reflection;
using Grpc.Core;
using HashHub.Server.Auth;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// Every RPC of the contract, called as every kind of caller, gets exactly the status in this table. A new RPC
/// without a row fails <see cref="EveryRpc_HasARow"/>. Requests are valid, and name things that do not exist
/// where an authorised caller would otherwise change something, so "authorised" shows as NotFound or OK.
/// </summary>
public sealed class AuthorizationMatrixTests
{
    private const StatusCode U = StatusCode.Unauthenticated;
    private const StatusCode D = StatusCode.PermissionDenied;
    private const StatusCode N = StatusCode.NotFound;
    private const StatusCode K = StatusCode.OK;
    private const StatusCode I = StatusCode.InvalidArgument;

    // "applicant": an organisation that applied and holds no credentials yet (its calls carry no token).
    // "outsider": a read-write member outside the sharing group the others share with: authorised like any member,
    // it just does not see the group's contributions (OutsideTheGroup_* below).
    private static readonly string[] Callers = ["anonymous", "applicant", "suspended", "read-only", "write-only", "read-write", "outsider", "admin"];

    private static readonly Dictionary<string, (Func<HubClient, Task> Call, StatusCode[] Expected)> Matrix = new()
    {
        //                                                   anonymous applicant suspended read-only write-only read-write outsider admin
        ["hashhub.v1.Contributions/SubmitContributions"] = (c => c.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()))).ResponseAsync, [U, U, D, D, K, K, K, K]),
        ["hashhub.v1.Contributions/GetSignal"] = (c => c.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = "987654321" }).ResponseAsync, [U, U, D, N, D, N, N, N]),
        ["hashhub.v1.Contributions/RetractContribution"] = (c => c.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = "987654321" }).ResponseAsync, [U, U, D, D, N, N, N, N]),
        ["hashhub.v1.Contributions/UpdateContributionLabels"] = (c => c.Contributions.UpdateContributionLabelsAsync(new Proto.UpdateContributionLabelsRequest { ContributionId = "987654321", Labels = { "behavior:recruitment" } }).ResponseAsync, [U, U, D, D, N, N, N, N]),
        ["hashhub.v1.Sync/ReadChanges"] = (c => c.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()).ResponseAsync, [U, U, D, K, D, K, K, K]),
        ["hashhub.v1.Sync/Subscribe"] = (FirstSubscribeMessage, [U, U, D, K, D, K, K, K]),
        ["hashhub.v1.Sync/GetLogHead"] = (c => c.Sync.GetLogHeadAsync(new Proto.GetLogHeadRequest()).ResponseAsync, [U, U, D, K, D, K, K, K]),
        ["hashhub.v1.Snapshots/ReadSnapshot"] = (FirstSnapshotChunk, [U, U, D, K, D, K, K, K]),
        ["hashhub.v1.Taxonomy/ListLabels"] = (c => c.Taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest()).ResponseAsync, [U, U, D, K, D, K, K, K]),
        ["hashhub.v1.Taxonomy/AddLabel"] = (c => c.Taxonomy.AddLabelAsync(new Proto.AddLabelRequest { Key = "entity:e" + Guid.NewGuid().ToString("N")[..12], DisplayName = "E" }).ResponseAsync, [U, U, D, D, D, D, D, K]),
        ["hashhub.v1.Audit/ExportAuditLog"] = (c => c.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest()).ResponseAsync, [U, U, D, D, D, D, D, K]),
        ["hashhub.v1.Audit/VerifyAuditLog"] = (c => c.Audit.VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest()).ResponseAsync, [U, U, D, D, D, D, D, K]),
        ["hashhub.v1.Applications/Apply"] = (c => c.Applications.ApplyAsync(ApplicationsTests.Valid("Org " + Guid.NewGuid().ToString("N"))).ResponseAsync, [K, K, K, K, K, K, K, K]),
        ["hashhub.v1.Applications/ListApplications"] = (c => c.Applications.ListApplicationsAsync(new Proto.ListApplicationsRequest()).ResponseAsync, [U, U, D, D, D, D, D, K]),
        ["hashhub.v1.Applications/DecideApplication"] = (c => c.Applications.DecideApplicationAsync(new Proto.DecideApplicationRequest { ApplicationId = "app_none", Decision = Proto.ApplicationStatus.Approved }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.Members/ListMembers"] = (c => c.Members.ListMembersAsync(new Proto.ListMembersRequest()).ResponseAsync, [U, U, D, D, D, D, D, K]),
        ["hashhub.v1.Members/SetMemberStatus"] = (c => c.Members.SetMemberStatusAsync(new Proto.SetMemberStatusRequest { MemberId = "mbr_none", Status = Proto.MemberStatus.Suspended, Reason = "test" }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.Members/IssueCredential"] = (c => c.Members.IssueCredentialAsync(new Proto.IssueCredentialRequest { MemberId = "mbr_none" }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.Members/RotateCredential"] = (c => c.Members.RotateCredentialAsync(new Proto.RotateCredentialRequest { ClientId = "hh_none" }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.SharingGroups/CreateSharingGroup"] = (c => c.SharingGroups.CreateSharingGroupAsync(new Proto.CreateSharingGroupRequest { Name = "G " + Guid.NewGuid().ToString("N") }).ResponseAsync, [U, U, D, D, D, D, D, K]),
        ["hashhub.v1.SharingGroups/ListSharingGroups"] = (c => c.SharingGroups.ListSharingGroupsAsync(new Proto.ListSharingGroupsRequest()).ResponseAsync, [U, U, D, K, K, K, K, K]),
        ["hashhub.v1.SharingGroups/AddSharingGroupMember"] = (c => c.SharingGroups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = "grp_none", MemberId = "mbr_none" }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.SharingGroups/RemoveSharingGroupMember"] = (c => c.SharingGroups.RemoveSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = "grp_none", MemberId = "mbr_none" }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.Probation/EndProbation"] = (c => c.Probation.EndProbationAsync(new Proto.EndProbationRequest { MemberId = "mbr_none" }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.Probation/ListHeldContributions"] = (c => c.Probation.ListHeldContributionsAsync(new Proto.ListHeldContributionsRequest()).ResponseAsync, [U, U, D, D, D, D, D, K]),
        ["hashhub.v1.Probation/ReleaseContributions"] = (c => c.Probation.ReleaseContributionsAsync(new Proto.DecideHeldContributionsRequest { ContributionIds = { "987654321" } }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.Probation/RejectContributions"] = (c => c.Probation.RejectContributionsAsync(new Proto.DecideHeldContributionsRequest { ContributionIds = { "987654321" }, Reason = "test" }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.Members/RevokeCredential"] = (c => c.Members.RevokeCredentialAsync(new Proto.RevokeCredentialRequest { ClientId = "hh_none" }).ResponseAsync, [U, U, D, D, D, D, D, N]),
        ["hashhub.v1.Matching/Match"] = (c => c.Matching.MatchAsync(new Proto.MatchRequest { Signals = { RandomMd5() } }).ResponseAsync, [U, U, D, K, D, K, K, K]),
        ["hashhub.v1.Matching/ReportOutcomes"] = (c => c.Matching.ReportOutcomesAsync(new Proto.ReportOutcomesRequest { IdempotencyKey = Guid.NewGuid().ToString("N"), Reports = { new Proto.OutcomeReport { SignalId = "987654321", Outcome = Proto.MatchOutcome.Matched } } }).ResponseAsync, [U, U, D, D, D, I, I, I]),
    };

    private HubFactory _hub = null!;
    private readonly Dictionary<string, HubClient> _clients = [];
    private HubClient _insider = null!;
    private string _group = null!;

    [OneTimeSetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(StorageProvider.Sqlite);
        _clients["anonymous"] = _hub.Connect(token: null);
        // An applicant has applied but holds no credentials: whatever it calls, it calls without a token.
        _clients["applicant"] = _hub.Connect(token: null);
        await _clients["applicant"].Applications.ApplyAsync(ApplicationsTests.Valid("Applicant Co"));
        var suspended = await _hub.AddMemberAsync("Suspended Co");
        _clients["suspended"] = await _hub.ConnectAsAsync(suspended);
        _clients["read-only"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Reader Co", scopes: [HubScopes.Read]));
        _clients["write-only"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Writer Co", scopes: [HubScopes.Write]));
        _clients["read-write"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Member Co"));
        _clients["admin"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Admins", isAdmin: true));
        _clients["outsider"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Outsider Co"));
        // The read-write member shares within a group the outsider is not in.
        var insider = await _hub.AddMemberAsync("Insider Co");
        _group = (await _clients["admin"].SharingGroups.CreateSharingGroupAsync(new Proto.CreateSharingGroupRequest { Name = "Matrix group" })).Id;
        await _clients["admin"].SharingGroups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = _group, MemberId = insider.MemberId });
        _insider = await _hub.ConnectAsAsync(insider);
        // Suspended after its token was issued: the token is still unexpired, and must stop working at once.
        await using var scope = _hub.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<HubDbContext>().Members.Where(m => m.Id == suspended.MemberId)
            .ExecuteUpdateAsync(s => s.SetProperty(m => m.Status, MemberStatus.Suspended));
    }

    [OneTimeTearDown]
    public void StopHub()
    {
        foreach (var client in _clients.Values)
        {
            client.Dispose();
        }
        _insider.Dispose();
        _hub.Dispose();
    }

    [Test]
    public void EveryRpc_HasARow()
    {
        var files = new[]
        {
            Proto.ContributionsReflection.Descriptor, Proto.SyncReflection.Descriptor, Proto.TaxonomyReflection.Descriptor, Proto.AuditReflection.Descriptor, Proto.MembersReflection.Descriptor, Proto.ApplicationsReflection.Descriptor, Proto.MatchingReflection.Descriptor,
            Proto.SharingReflection.Descriptor, Proto.ProbationReflection.Descriptor, Proto.SnapshotsReflection.Descriptor,
        };
        var assemblyFiles = typeof(Proto.Contributions).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(Proto.Contributions).Namespace && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(t => (FileDescriptor)t.GetProperty("Descriptor")!.GetValue(null)!)
            .Where(f => f.Services.Count > 0)
            .ToList();
        Assert.That(assemblyFiles.Select(f => f.Name), Is.EquivalentTo(files.Select(f => f.Name)), "a new service file needs its rows here");

        var rpcs = assemblyFiles.SelectMany(f => f.Services).SelectMany(s => s.Methods).Select(m => $"{m.Service.FullName}/{m.Name}");

        Assert.That(Matrix.Keys, Is.EquivalentTo(rpcs));
    }

    [TestCaseSource(nameof(Cases))]
    public async Task Rpc_AsCaller_GetsExactStatus(string rpc, string caller)
    {
        var (call, expected) = Matrix[rpc];
        var want = expected[Array.IndexOf(Callers, caller)];

        var got = StatusCode.OK;
        try
        {
            await call(_clients[caller]);
        }
        catch (RpcException ex)
        {
            got = ex.StatusCode;
        }

        Assert.That(got, Is.EqualTo(want), $"{rpc} as {caller}");
    }

    [Test]
    public async Task OutsideTheGroup_GetAndReadChanges_AreOkButShowNoGroupContribution()
    {
        var scoped = RandomMd5();
        var shared = RandomSha256();
        var item = Item(scoped);
        item.SharingGroupIds.Add(_group);
        var result = await _insider.Contributions.SubmitContributionsAsync(Batch(item, Item(shared)));
        var outsider = _clients["outsider"];

        var get = SharingGroupsTests.StatusOf(() => outsider.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = result.Results[0].SignalId }).ResponseAsync);
        var seen = await SharingGroupsTests.ValuesSeenAsync(outsider);
        var insiderSees = await _insider.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = result.Results[0].SignalId });

        Assert.That(get, Is.EqualTo(StatusCode.NotFound), "as for a signal that does not exist");
        Assert.That(seen, Does.Contain(shared.Value).And.Not.Contain(scoped.Value));
        Assert.That(insiderSees.Contributions, Has.Count.EqualTo(1));
    }

    private static IEnumerable<TestCaseData> Cases() =>
        Matrix.Keys.SelectMany(rpc => Callers.Select(caller => new TestCaseData(rpc, caller).SetName($"{rpc} as {caller}")));

    private static async Task FirstSnapshotChunk(HubClient client)
    {
        using var call = client.Snapshots.ReadSnapshot(new Proto.ReadSnapshotRequest());
        await call.ResponseStream.MoveNext();
    }

    private static async Task FirstSubscribeMessage(HubClient client)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = client.Sync.Subscribe(new Proto.SubscribeRequest(), cancellationToken: cts.Token);
        await call.ResponseStream.MoveNext(cts.Token);
    }
}
