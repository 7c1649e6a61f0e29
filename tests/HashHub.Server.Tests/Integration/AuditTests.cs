using Grpc.Core;
using HashHub.Server.Audit;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class AuditTests(StorageProvider provider)
{
    private HubFactory _hub = null!;
    private IssuedCredential _admin = null!;
    private IssuedCredential _member = null!;
    private HubClient _adminClient = null!;
    private HubClient _memberClient = null!;

    [SetUp]
    public async Task StartHub()
    {
        _hub = await HubFactory.CreateAsync(provider);
        _admin = await _hub.AddMemberAsync("Consortium Admins", isAdmin: true);
        _member = await _hub.AddMemberAsync("Alpha Video");
        _adminClient = await _hub.ConnectAsAsync(_admin);
        _memberClient = await _hub.ConnectAsAsync(_member);
    }

    [TearDown]
    public void StopHub()
    {
        _adminClient.Dispose();
        _memberClient.Dispose();
        _hub.Dispose();
    }

    [Test]
    public async Task Actions_AreRecordedInOrderWithActorsAndChainVerifies()
    {
        var batch = Batch(Item(RandomMd5()), Item(RandomSha256()));
        var submitted = await _memberClient.Contributions.SubmitContributionsAsync(batch);
        await _memberClient.Contributions.SubmitContributionsAsync(batch); // a replay changes nothing, so logs nothing
        var relabel = new Proto.UpdateContributionLabelsRequest { ContributionId = submitted.Results[0].ContributionId, Labels = { "behavior:incitement" } };
        await _memberClient.Contributions.UpdateContributionLabelsAsync(relabel);
        await _memberClient.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = submitted.Results[1].ContributionId, Reason = "wrong file" });
        await _adminClient.Taxonomy.AddLabelAsync(new Proto.AddLabelRequest { Key = "incident:example_attack", DisplayName = "Example attack" });

        var entries = await ExportAllAsync();
        var verify = await _adminClient.Audit.VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest());

        Assert.That(entries.Select(e => e.Action), Is.EqualTo(new[]
        {
            "member.add", "credential.issue", "member.add", "credential.issue",
            "contribution.submit", "contribution.relabel", "contribution.retract", "taxonomy.add_label",
        }));
        var submit = entries[4];
        Assert.That((submit.ActorId, submit.ClientId, submit.Target), Is.EqualTo((_member.MemberId, _member.ClientId, batch.IdempotencyKey)));
        Assert.That(submit.Details, Does.Contain("\"items\":2"));
        Assert.That(entries[0].ActorId, Is.EqualTo(AuditChain.OperatorActor));
        Assert.That(entries[1].Details, Does.Not.Contain(_admin.ClientSecret), "secrets never reach the log");
        Assert.That(entries[7].ActorId, Is.EqualTo(_admin.MemberId));
        Assert.That(verify.Intact, Is.True, verify.Reason);
        Assert.That(verify.EntriesChecked, Is.EqualTo(8));
        Assert.That(verify.HeadHash, Is.EqualTo(entries[^1].Hash));
    }

    [Test]
    public async Task Export_CanBeVerifiedByItsHolderWithoutTheHub()
    {
        await _memberClient.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));

        var previous = new byte[32];
        foreach (var e in await ExportAllAsync())
        {
            Assert.That(e.PreviousHash.ToByteArray(), Is.EqualTo(previous));
            var hash = AuditChain.ComputeHash(previous, e.At.ToDateTimeOffset(), e.ActorId, e.ClientId, e.Action, e.Target, e.Details);
            Assert.That(hash, Is.EqualTo(e.Hash.ToByteArray()), $"entry {e.Seq}");
            previous = hash;
        }
    }

    [Test]
    public async Task ExportCommand_WritesJsonLinesThatVerifyOffline()
    {
        await _memberClient.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var file = Path.Combine(_hub.DataDirectory, "audit.jsonl");

        var exit = await AdminCommands.RunAsync(_hub.Services, ["admin", "export-audit", file], new StringWriter());

        Assert.That(exit, Is.Zero);
        var lines = (await File.ReadAllLinesAsync(file)).Select(l => System.Text.Json.JsonSerializer.Deserialize<AuditExportLine>(l, AuditExportLine.Json)!).ToList();
        Assert.That(lines.Select(l => l.Action).Last(), Is.EqualTo("contribution.submit"));
        var previous = new byte[32];
        foreach (var line in lines)
        {
            Assert.That(line.PreviousHash, Is.EqualTo(Convert.ToHexStringLower(previous)));
            previous = AuditChain.ComputeHash(previous, line.At, line.ActorId, line.ClientId, line.Action, line.Target, line.Details);
            Assert.That(Convert.ToHexStringLower(previous), Is.EqualTo(line.Hash), $"entry {line.Seq}");
        }
    }

    [Test]
    public async Task ChangedRow_FailsVerificationAtThatEntry()
    {
        await _memberClient.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        await _memberClient.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var target = (await ExportAllAsync())[5].Seq;

        await using (var scope = _hub.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
            await db.AuditLog.Where(e => e.Seq == target).ExecuteUpdateAsync(s => s.SetProperty(e => e.Details, "{\"items\":1000}"));
        }
        var verify = await _adminClient.Audit.VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest());

        Assert.That(verify.Intact, Is.False);
        Assert.That(verify.FirstBrokenSeq, Is.EqualTo(target));
        Assert.That(verify.EntriesChecked, Is.EqualTo(5));
        Assert.That(verify.Reason, Does.Contain("changed"));
        var output = new StringWriter();
        Assert.That(await AdminCommands.RunAsync(_hub.Services, ["admin", "verify-audit"], output), Is.EqualTo(1));
        Assert.That(output.ToString(), Does.Contain($"BROKEN at entry {target}"));
    }

    [Test]
    public async Task RemovedRow_FailsVerificationAtTheNextEntry()
    {
        await _memberClient.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var entries = await ExportAllAsync();

        await using (var scope = _hub.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
            await db.AuditLog.Where(e => e.Seq == entries[2].Seq).ExecuteDeleteAsync();
        }
        var verify = await _adminClient.Audit.VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest());

        Assert.That(verify.Intact, Is.False);
        Assert.That(verify.FirstBrokenSeq, Is.EqualTo(entries[3].Seq));
        Assert.That(verify.Reason, Does.Contain("removed"));
    }

    [Test]
    public async Task AuditRpcs_NeedAdmin()
    {
        var export = Assert.ThrowsAsync<RpcException>(async () => await _memberClient.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest()));
        var verify = Assert.ThrowsAsync<RpcException>(async () => await _memberClient.Audit.VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest()));
        using var anonymous = _hub.Connect(token: null);
        var none = Assert.ThrowsAsync<RpcException>(async () => await anonymous.Audit.VerifyAuditLogAsync(new Proto.VerifyAuditLogRequest()));

        Assert.That((export!.StatusCode, verify!.StatusCode, none!.StatusCode),
            Is.EqualTo((StatusCode.PermissionDenied, StatusCode.PermissionDenied, StatusCode.Unauthenticated)));
        var output = new StringWriter();
        Assert.That(await AdminCommands.RunAsync(_hub.Services, ["admin", "verify-audit"], output), Is.Zero);
        Assert.That(output.ToString(), Does.StartWith("audit log intact: 4 entries"));
    }

    [Test]
    public async Task RejectedBatch_LeavesNoAuditEntry()
    {
        var before = (await ExportAllAsync()).Count;
        var bad = Batch(Item(RandomMd5()), Item(new Proto.Signal { Type = Proto.SignalType.Md5, Value = "xyz" }));

        Assert.ThrowsAsync<RpcException>(async () => await _memberClient.Contributions.SubmitContributionsAsync(bad));

        Assert.That(await ExportAllAsync(), Has.Count.EqualTo(before));
    }

    private async Task<List<Proto.AuditEntry>> ExportAllAsync()
    {
        var entries = new List<Proto.AuditEntry>();
        while (true)
        {
            var page = await _adminClient.Audit.ExportAuditLogAsync(new Proto.ExportAuditLogRequest { AfterSeq = entries.Count == 0 ? 0 : entries[^1].Seq, PageSize = 3 });
            entries.AddRange(page.Entries);
            if (!page.HasMore)
            {
                return entries;
            }
        }
    }
}
