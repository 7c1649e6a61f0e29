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

    private static readonly string[] Callers = ["anonymous", "suspended", "read-only", "write-only", "read-write", "admin"];

    private static readonly Dictionary<string, (Func<HubClient, Task> Call, StatusCode[] Expected)> Matrix = new()
    {
        //                                                   anonymous suspended read-only write-only read-write admin
        ["hashhub.v1.Contributions/SubmitContributions"] = (c => c.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()))).ResponseAsync, [U, D, D, K, K, K]),
        ["hashhub.v1.Contributions/GetSignal"] = (c => c.Contributions.GetSignalAsync(new Proto.GetSignalRequest { SignalId = "987654321" }).ResponseAsync, [U, D, N, D, N, N]),
        ["hashhub.v1.Contributions/RetractContribution"] = (c => c.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = "987654321" }).ResponseAsync, [U, D, D, N, N, N]),
        ["hashhub.v1.Contributions/UpdateContributionLabels"] = (c => c.Contributions.UpdateContributionLabelsAsync(new Proto.UpdateContributionLabelsRequest { ContributionId = "987654321", Labels = { "behavior:recruitment" } }).ResponseAsync, [U, D, D, N, N, N]),
        ["hashhub.v1.Sync/ReadChanges"] = (c => c.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()).ResponseAsync, [U, D, K, D, K, K]),
        ["hashhub.v1.Sync/Subscribe"] = (FirstSubscribeMessage, [U, D, K, D, K, K]),
        ["hashhub.v1.Taxonomy/ListLabels"] = (c => c.Taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest()).ResponseAsync, [U, D, K, D, K, K]),
        ["hashhub.v1.Taxonomy/AddLabel"] = (c => c.Taxonomy.AddLabelAsync(new Proto.AddLabelRequest { Key = "entity:e" + Guid.NewGuid().ToString("N")[..12], DisplayName = "E" }).ResponseAsync, [U, D, D, D, D, K]),
        ["hashhub.v1.Audit/ExportAuditLog"] = (c => c.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest()).ResponseAsync, [U, D, D, D, D, K]),
        ["hashhub.v1.Audit/VerifyAuditLog"] = (c => c.Audit.VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest()).ResponseAsync, [U, D, D, D, D, K]),
        ["hashhub.v1.Applications/Apply"] = (c => c.Applications.ApplyAsync(ApplicationsTests.Valid("Org " + Guid.NewGuid().ToString("N"))).ResponseAsync, [K, K, K, K, K, K]),
        ["hashhub.v1.Applications/ListApplications"] = (c => c.Applications.ListApplicationsAsync(new Proto.ListApplicationsRequest()).ResponseAsync, [U, D, D, D, D, K]),
        ["hashhub.v1.Applications/DecideApplication"] = (c => c.Applications.DecideApplicationAsync(new Proto.DecideApplicationRequest { ApplicationId = "app_none", Decision = Proto.ApplicationStatus.Approved }).ResponseAsync, [U, D, D, D, D, N]),
        ["hashhub.v1.Members/ListMembers"] = (c => c.Members.ListMembersAsync(new Proto.ListMembersRequest()).ResponseAsync, [U, D, D, D, D, K]),
        ["hashhub.v1.Members/SetMemberStatus"] = (c => c.Members.SetMemberStatusAsync(new Proto.SetMemberStatusRequest { MemberId = "mbr_none", Status = Proto.MemberStatus.Suspended, Reason = "test" }).ResponseAsync, [U, D, D, D, D, N]),
        ["hashhub.v1.Members/IssueCredential"] = (c => c.Members.IssueCredentialAsync(new Proto.IssueCredentialRequest { MemberId = "mbr_none" }).ResponseAsync, [U, D, D, D, D, N]),
        ["hashhub.v1.Members/RotateCredential"] = (c => c.Members.RotateCredentialAsync(new Proto.RotateCredentialRequest { ClientId = "hh_none" }).ResponseAsync, [U, D, D, D, D, N]),
        ["hashhub.v1.Matching/Match"] = (c => c.Matching.MatchAsync(new Proto.MatchRequest { Signals = { RandomMd5() } }).ResponseAsync, [U, D, K, D, K, K]),
        ["hashhub.v1.Matching/ReportOutcomes"] = (c => c.Matching.ReportOutcomesAsync(new Proto.ReportOutcomesRequest { IdempotencyKey = Guid.NewGuid().ToString("N"), Reports = { new Proto.OutcomeReport { SignalId = "987654321", Outcome = Proto.MatchOutcome.Matched } } }).ResponseAsync, [U, D, D, D, I, I]),
        ["hashhub.v1.Members/RevokeCredential"] = (c => c.Members.RevokeCredentialAsync(new Proto.RevokeCredentialRequest { ClientId = "hh_none" }).ResponseAsync, [U, D, D, D, D, N]),
    };

    private HubFactory _hub = null!;
    private readonly Dictionary<string, HubClient> _clients = [];

    [OneTimeSetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(StorageProvider.Sqlite);
        _clients["anonymous"] = _hub.Connect(token: null);
        var suspended = await _hub.AddMemberAsync("Suspended Co");
        _clients["suspended"] = await _hub.ConnectAsAsync(suspended);
        _clients["read-only"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Reader Co", scopes: [HubScopes.Read]));
        _clients["write-only"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Writer Co", scopes: [HubScopes.Write]));
        _clients["read-write"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Member Co"));
        _clients["admin"] = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Admins", isAdmin: true));
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
        _hub.Dispose();
    }

    [Test]
    public void EveryRpc_HasARow()
    {
        var files = new[]
        {
            Proto.ContributionsReflection.Descriptor, Proto.SyncReflection.Descriptor, Proto.TaxonomyReflection.Descriptor, Proto.AuditReflection.Descriptor, Proto.MembersReflection.Descriptor, Proto.ApplicationsReflection.Descriptor, Proto.MatchingReflection.Descriptor,
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

    private static IEnumerable<TestCaseData> Cases() =>
        Matrix.Keys.SelectMany(rpc => Callers.Select(caller => new TestCaseData(rpc, caller).SetName($"{rpc} as {caller}")));

    private static async Task FirstSubscribeMessage(HubClient client)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = client.Sync.Subscribe(new Proto.SubscribeRequest(), cancellationToken: cts.Token);
        await call.ResponseStream.MoveNext(cts.Token);
    }
}
