using Grpc.Core;
using HashHub.Server.Auth;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;
using static HashHub.Server.Tests.Integration.SharingGroupsTests;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// Snapshots/ReadSnapshot: a snapshot and the changes after its cursor must leave a reader holding exactly what reading
/// the whole log from an empty cursor leaves it holding, record for record, for every kind of viewer.
/// </summary>
[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class SnapshotTests(StorageProvider provider)
{
    private HubFactory _hub = null!;
    private HubClient _admin = null!;
    private HubClient _a = null!;
    private HubClient _b = null!;
    private HubClient _outsider = null!;
    private string _outsiderId = null!;
    private HubClient _newcomer = null!;
    private string _group = null!;

    [SetUp]
    public async Task StartHub()
    {
        // Small chunks, so that a few dozen signals already take several; background rebuilds only where a test asks.
        _hub = await HubFactory.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Hub:SnapshotChunkBytes"] = "1024",
            ["Hub:SnapshotCheckInterval"] = "01:00:00",
        });
        _admin = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Consortium Admins", isAdmin: true));
        var alpha = await _hub.AddMemberAsync("Alpha");
        var beta = await _hub.AddMemberAsync("Beta");
        _group = (await _admin.SharingGroups.CreateSharingGroupAsync(new Proto.CreateSharingGroupRequest { Name = "Livestream task force" })).Id;
        foreach (var member in new[] { alpha, beta })
        {
            await _admin.SharingGroups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = _group, MemberId = member.MemberId, Reason = "task force" });
        }
        _a = await _hub.ConnectAsAsync(alpha);
        _b = await _hub.ConnectAsAsync(beta);
        var gamma = await _hub.AddMemberAsync("Gamma");
        _outsiderId = gamma.MemberId;
        _outsider = await _hub.ConnectAsAsync(gamma);
        _newcomer = await _hub.ConnectAsAsync(await _hub.AddMemberAsync("Newcomer", probation: true));
    }

    [TearDown]
    public void StopHub()
    {
        foreach (var client in new[] { _admin, _a, _b, _outsider, _newcomer })
        {
            client.Dispose();
        }
        _hub.Dispose();
    }

    private SnapshotStore Store => _hub.Services.GetRequiredService<SnapshotStore>();

    [Test]
    public async Task ReadSnapshot_ThenChangesAfterItsCursor_HoldsWhatTheWholeLogHoldsForEveryViewer()
    {
        var random = new Random(7);
        var signals = Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? RandomMd5() : i % 3 == 1 ? RandomSha256() : RandomPdq(random)).ToList();
        var first = await _a.Contributions.SubmitContributionsAsync(Batch([.. signals.Select(s => Item(s))]));
        var ids = first.Results.Select(r => r.ContributionId).ToList();
        await RetractAsync(_a, ids[1], ids[2], ids[3]);
        await _a.Contributions.UpdateContributionLabelsAsync(new Proto.UpdateContributionLabelsRequest { ContributionId = ids[4], Labels = { "behavior:recruitment" } });
        // Beta contributes two of Alpha's signals again, one of them only to the group, and retracts one of Alpha's.
        var again = await _b.Contributions.SubmitContributionsAsync(Batch(
            Item(signals[5].Clone()), InGroup(Item(signals[6].Clone()), _group), InGroup(Item(RandomMd5()), _group)));
        await RetractAsync(_a, ids[5]);
        var held = await _newcomer.Contributions.SubmitContributionsAsync(Batch(Item(RandomSha256()), Item(signals[7].Clone())));
        Assert.That(held.Results.All(r => r.Held), Is.True);

        var built = await Store.RebuildAsync(1, CancellationToken.None);

        // After the snapshot was taken: new signals, retractions of signals it holds, a relabel, a group-only one.
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()), Item(RandomSha256()), InGroup(Item(RandomMd5()), _group)));
        await RetractAsync(_a, ids[8], ids[6]);
        await RetractAsync(_b, again.Results[1].ContributionId);
        await _a.Contributions.UpdateContributionLabelsAsync(new Proto.UpdateContributionLabelsRequest { ContributionId = ids[9], Labels = { "behavior:instruction" } });

        foreach (var (name, client) in new[] { ("admin", _admin), ("group member", _b), ("outsider", _outsider), ("member on probation", _newcomer) })
        {
            var snapshot = await ReadSnapshotAsync(client);
            var fromSnapshot = await FoldChangesAsync(client, Fold(snapshot.Records), snapshot.Last.Cursor);
            var fromLog = await FoldChangesAsync(client, [], string.Empty);

            Assert.Multiple(() =>
            {
                Assert.That(fromSnapshot.Keys, Is.EquivalentTo(fromLog.Keys), name);
                foreach (var (id, record) in fromLog)
                {
                    Assert.That(fromSnapshot.GetValueOrDefault(id), Is.EqualTo(record), $"{name}: signal {id}");
                }
                Assert.That(snapshot.Records.All(r => r.Status == Proto.SignalStatus.Active), Is.True, $"{name}: a snapshot carries no tombstones");
                Assert.That(snapshot.Last.TotalSignals, Is.EqualTo(snapshot.Records.Count), name);
                Assert.That(snapshot.Last.Head.ChangesAfterCursor, Is.GreaterThan(0), $"{name}: the log moved on after the snapshot at {built}");
            });
        }
    }

    [Test]
    public async Task ReadSnapshot_GroupAndHeldContributions_ReachOnlyThoseWhoMaySeeThem()
    {
        var shared = RandomMd5();
        var groupOnly = RandomMd5();
        var heldValue = RandomSha256();
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(shared), InGroup(Item(groupOnly), _group)));
        // The same signal again from Beta, only for the group: every member sees Alpha's contribution, the group both.
        await _b.Contributions.SubmitContributionsAsync(Batch(InGroup(Item(shared), _group)));
        await _newcomer.Contributions.SubmitContributionsAsync(Batch(Item(heldValue)));
        await Store.RebuildAsync(1, CancellationToken.None);

        var member = Fold((await ReadSnapshotAsync(_b)).Records).Values.ToDictionary(r => r.Signal.Value);
        var outsider = Fold((await ReadSnapshotAsync(_outsider)).Records).Values.ToDictionary(r => r.Signal.Value);
        var newcomer = Fold((await ReadSnapshotAsync(_newcomer)).Records).Values.ToDictionary(r => r.Signal.Value);
        var admin = Fold((await ReadSnapshotAsync(_admin)).Records).Values.ToDictionary(r => r.Signal.Value);

        Assert.Multiple(() =>
        {
            Assert.That(member.Keys, Is.EquivalentTo(new[] { shared.Value, groupOnly.Value }));
            Assert.That(member[shared.Value].Contributions, Has.Count.EqualTo(2));
            Assert.That(member[groupOnly.Value].Contributions.Single().SharingGroupIds, Is.EqualTo(new[] { _group }));
            Assert.That(outsider.Keys, Is.EquivalentTo(new[] { shared.Value }));
            Assert.That(outsider[shared.Value].Contributions, Has.Count.EqualTo(1));
            Assert.That(newcomer.Keys, Is.EquivalentTo(new[] { shared.Value, heldValue.Value }));
            Assert.That(newcomer[heldValue.Value].Contributions.Single().Hold, Is.EqualTo(Proto.HoldState.Held));
            Assert.That(admin.Keys, Is.EquivalentTo(new[] { shared.Value, groupOnly.Value, heldValue.Value }));
            Assert.That(admin[shared.Value].Contributions, Has.Count.EqualTo(2));
        });
    }

    [Test]
    public async Task ReadSnapshot_TypeFilter_SendsOnlyThoseTypesInChunksOfOneType()
    {
        var random = new Random(11);
        await _a.Contributions.SubmitContributionsAsync(Batch(
            [.. Enumerable.Range(0, 60).Select(i => Item(i % 3 == 0 ? RandomMd5() : i % 3 == 1 ? RandomSha256() : RandomPdq(random)))]));

        var all = await ReadSnapshotAsync(_b);
        var pdq = await ReadSnapshotAsync(_b, Proto.SignalType.Pdq);

        Assert.Multiple(() =>
        {
            Assert.That(all.Records, Has.Count.EqualTo(60));
            Assert.That(all.Records.Select(r => r.Id).Distinct().Count(), Is.EqualTo(60));
            // 1 KiB chunks: several per type, each of one type.
            Assert.That(all.Chunks.Count(c => c.Signals.Count > 0), Is.GreaterThan(3));
            Assert.That(all.Chunks.All(c => c.Signals.Select(s => s.Signal.Type).Distinct().Count() <= 1), Is.True);
            Assert.That(pdq.Records, Has.Count.EqualTo(20));
            Assert.That(pdq.Records.All(r => r.Signal.Type == Proto.SignalType.Pdq), Is.True);
            Assert.That(pdq.Last.TotalSignals, Is.EqualTo(20));
            Assert.That(pdq.Last.Cursor, Is.EqualTo(all.Last.Cursor));
        });
    }

    [Test]
    public async Task ReadSnapshot_EmptyHub_SendsOnlyTheCursorAtTheStart()
    {
        var snapshot = await ReadSnapshotAsync(_b);
        var page = await _b.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = snapshot.Last.Cursor });

        Assert.Multiple(() =>
        {
            Assert.That(snapshot.Records, Is.Empty);
            Assert.That(snapshot.Last.TotalSignals, Is.Zero);
            Assert.That(page.Changes, Is.Empty);
        });
    }

    [Test]
    public async Task ReadSnapshot_UnknownSignalType_IsInvalidArgumentNamingTheField()
    {
        var violations = await ContributionsTests.ViolationsOf(ReadSnapshotAsync(_b, (Proto.SignalType)99));

        Assert.That(violations.Select(v => v.Field), Is.EqualTo(new[] { "signal_types[0]" }));
    }

    [Test]
    public async Task ReadSnapshot_CursorAfterTheMembersGroupsChanged_AnswersResyncRequired()
    {
        var snapshot = await ReadSnapshotAsync(_outsider);
        await _admin.SharingGroups.AddSharingGroupMemberAsync(new Proto.SharingGroupMemberRequest { GroupId = _group, MemberId = _outsiderId, Reason = "joins" });

        var status = StatusOf(() => _outsider.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = snapshot.Last.Cursor }).ResponseAsync);

        Assert.That(status, Is.EqualTo(StatusCode.FailedPrecondition));
    }

    [Test]
    public async Task Rebuilder_LogMovedOnPastTheThreshold_ServesANewerSnapshot()
    {
        using var hub = await HubFactory.CreateAsync(provider, new Dictionary<string, string?>
        {
            ["Hub:SnapshotRebuildAfterChanges"] = "5",
            ["Hub:SnapshotCheckInterval"] = "00:00:00.100",
        });
        using var member = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
        await member.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var first = await ReadSnapshotAsync(member);
        await member.Contributions.SubmitContributionsAsync(Batch([.. Enumerable.Range(0, 10).Select(_ => Item(RandomMd5()))]));

        // Waits for the background rebuild (bounded); what is asserted is the result, not how long it took.
        var store = hub.Services.GetRequiredService<SnapshotStore>();
        var firstSeq = store.CurrentSeq;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (store.CurrentSeq == firstSeq && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        var second = await ReadSnapshotAsync(member);

        Assert.Multiple(() =>
        {
            Assert.That(first.Records, Has.Count.EqualTo(1));
            Assert.That(second.Records, Has.Count.EqualTo(11));
            Assert.That(second.Last.Head.ChangesAfterCursor, Is.Zero);
            Assert.That(second.Last.Cursor, Is.Not.EqualTo(first.Last.Cursor));
        });
    }

    [Test]
    public async Task Store_RestartedOnTheSameFolder_TakesUpItsFileAndDropsOneOfAnotherLog()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()), Item(RandomMd5())));
        var seq = await Store.RebuildAsync(1, CancellationToken.None);
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        var folder = Path.Combine(_hub.DataDirectory, "snapshots");
        var file = Directory.GetFiles(folder).Single();

        // A second store over the same folder, as after a restart of the hub: it takes the file up rather than build.
        using (var restarted = NewStore(_hub.Services.GetRequiredService<HubEpoch>()))
        {
            using var lease = await restarted.AcquireAsync(CancellationToken.None);
            Assert.That(lease.File.Seq, Is.EqualTo(seq));
            Assert.That(lease.File.Chunks.Sum(c => c.Count), Is.EqualTo(2));
        }

        // A store of another log (another database's epoch) drops it and builds its own.
        using (var other = NewStore(new HubEpoch { Value = _hub.Services.GetRequiredService<HubEpoch>().Value + 1 }))
        {
            using var lease = await other.AcquireAsync(CancellationToken.None);
            Assert.That(lease.File.Seq, Is.GreaterThan(seq));
            Assert.That(lease.File.Chunks.Sum(c => c.Count), Is.EqualTo(3));
            Assert.That(File.Exists(file), Is.False);
        }
    }

    [Test]
    public async Task Store_LeaseHeldWhileReplaced_StillReadsTheOldFile()
    {
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        await Store.RebuildAsync(1, CancellationToken.None);
        using var lease = await Store.AcquireAsync(CancellationToken.None);
        await _a.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));

        var newer = await Store.RebuildAsync(1, CancellationToken.None);
        var chunk = lease.File.Chunks.Single();
        var bytes = new byte[chunk.Length];
        lease.File.Read(chunk, bytes);
        var records = Proto.SnapshotChunk.Parser.ParseFrom(bytes);

        Assert.Multiple(() =>
        {
            Assert.That(newer, Is.GreaterThan(lease.File.Seq));
            Assert.That(File.Exists(lease.File.Path), Is.False, "the replaced file's name is gone");
            Assert.That(records.Signals, Has.Count.EqualTo(1));
        });
    }

    private SnapshotStore NewStore(HubEpoch epoch) => new(
        _hub.Services.GetRequiredService<IServiceScopeFactory>(), _hub.Services.GetRequiredService<IOptions<StorageOptions>>(),
        _hub.Services.GetRequiredService<IOptions<HubOptions>>(), epoch, TimeProvider.System, NullLogger<SnapshotStore>.Instance);

    internal sealed record Snapshot(List<Proto.SnapshotChunk> Chunks, List<Proto.SignalRecord> Records, Proto.SnapshotChunk Last);

    internal static async Task<Snapshot> ReadSnapshotAsync(HubClient client, params Proto.SignalType[] types)
    {
        var request = new Proto.ReadSnapshotRequest();
        request.SignalTypes.AddRange(types);
        using var call = client.Snapshots.ReadSnapshot(request);
        var chunks = new List<Proto.SnapshotChunk>();
        await foreach (var chunk in call.ResponseStream.ReadAllAsync())
        {
            chunks.Add(chunk);
        }
        Assert.That(chunks, Is.Not.Empty);
        Assert.That(chunks[^1].Cursor, Is.Not.Empty, "the last chunk carries the cursor");
        Assert.That(chunks.SkipLast(1).All(c => c.Cursor.Length == 0), Is.True, "only the last chunk carries the cursor");
        return new Snapshot(chunks, [.. chunks.SelectMany(c => c.Signals)], chunks[^1]);
    }

    /// <summary>What a reader holds after the records: the later record of a signal replaces the earlier.</summary>
    private static Dictionary<string, Proto.SignalRecord> Fold(IEnumerable<Proto.SignalRecord> records)
    {
        var held = new Dictionary<string, Proto.SignalRecord>();
        foreach (var record in records)
        {
            held[record.Id] = record;
        }
        return held;
    }

    /// <summary>Applies every change after <paramref name="cursor"/> as a reader does: a tombstone removes, anything else replaces.</summary>
    private static async Task<Dictionary<string, Proto.SignalRecord>> FoldChangesAsync(HubClient client, Dictionary<string, Proto.SignalRecord> held, string cursor)
    {
        while (true)
        {
            var page = await client.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor, PageSize = 7 });
            foreach (var change in page.Changes)
            {
                if (change.Kind == Proto.ChangeKind.Retracted)
                {
                    held.Remove(change.Signal.Id);
                }
                else
                {
                    held[change.Signal.Id] = change.Signal;
                }
            }
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return held;
            }
        }
    }

    private static async Task RetractAsync(HubClient client, params string[] contributionIds)
    {
        foreach (var id in contributionIds)
        {
            await client.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = id });
        }
    }
}
