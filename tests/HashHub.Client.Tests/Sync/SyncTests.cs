using Grpc.Core;
using HashHub.Client.Contributing;
using HashHub.Client.Matching;
using HashHub.Client.Sync;
using HashHub.Client.Tests.Infrastructure;

namespace HashHub.Client.Tests.Sync;

/// <summary>
/// Paged sync into the local store against a real hub process: bootstrap then deltas, the index following adds,
/// relabels and retractions, a crash between applying a page and saving its cursor, and "resync required".
/// </summary>
public sealed class SyncTests
{
    private const string A = "Platform A";
    private const string B = "Platform B";
    private RealHub _hub = null!;

    [OneTimeSetUp]
    public async Task StartHub() => _hub = await RealHub.StartAsync(A, B);

    [OneTimeTearDown]
    public async Task StopHub() => await _hub.DisposeAsync();

    [Test]
    public async Task SyncAsync_FirstThenLater_BootstrapsEverythingThenAppliesOnlyTheDelta()
    {
        await using var a = await _hub.OpenAsync(A);
        await RealHub.SubmitRandomAsync(a, 30);
        // The paged log replay, which a store without snapshots (or of an older hub) bootstraps with; SnapshotBootstrapTests has the other.
        await using var b = await _hub.OpenAsync(B, _hub.NewStorePath("b"), o => (o.SyncPageSize, o.BootstrapFromSnapshot) = (7, false));

        var first = await b.SyncAsync();
        var (changesBefore, _) = await RealHub.ReadLogAsync(a);
        await RealHub.SubmitRandomAsync(a, 10);
        var second = await b.SyncAsync();
        var third = await b.SyncAsync();

        Assert.That(first.Bootstrapped, Is.True);
        Assert.That(first.Resynced, Is.False);
        Assert.That(first.ChangesApplied, Is.EqualTo(changesBefore));
        Assert.That(first.Pages, Is.GreaterThan(1));
        Assert.That(second.Bootstrapped, Is.False);
        Assert.That(second.ChangesApplied, Is.EqualTo(10));
        Assert.That(third.ChangesApplied, Is.Zero);
        await AssertStoreEqualsHubAsync(a, b, replayedWholeLog: true);
    }

    [Test]
    public async Task SyncAsync_WithProgress_ReportsGrowingTotalsAfterEachPageButTheLast()
    {
        await using var a = await _hub.OpenAsync(A);
        await RealHub.SubmitRandomAsync(a, 20);
        await using var b = await _hub.OpenAsync(B, _hub.NewStorePath("b"), o => (o.SyncPageSize, o.BootstrapFromSnapshot) = (7, false));
        var reports = new List<SyncResult>();

        var result = await b.SyncAsync(new InlineProgress(reports.Add), CancellationToken.None);

        Assert.That(reports, Has.Count.EqualTo(result.Pages - 1));
        Assert.That(reports.Select(r => r.Pages), Is.EqualTo(Enumerable.Range(1, result.Pages - 1)));
        Assert.That(reports.Select(r => r.ChangesApplied), Is.Ordered.Ascending.And.All.LessThan(result.ChangesApplied));
        Assert.That(reports[0].ChangesApplied, Is.EqualTo(7));
        // What remains shrinks page by page (at most: the hub counts by sequence numbers), down to nothing at the end.
        Assert.That(reports.Select(r => r.Lag!.ChangesBehind), Is.Ordered.Descending.And.All.GreaterThan(0));
        Assert.That(result.Lag!.ChangesBehind, Is.Zero);
    }

    [Test]
    public async Task GetLagAsync_HubGotChangesSinceTheSync_CountsThemUntilTheNextSync()
    {
        await using var a = await _hub.OpenAsync(A);
        await RealHub.SubmitRandomAsync(a, 3);
        await using var b = await _hub.OpenAsync(B, _hub.NewStorePath("b"));
        var synced = await b.SyncAsync();
        var lagAfterSync = await b.GetLagAsync();
        await RealHub.SubmitRandomAsync(a, 2);
        await RealHub.SubmitRandomAsync(a, 2);

        var behind = await b.GetLagAsync();
        var saved = b.GetStoreStatus().LastKnownLag;
        await b.SyncAsync();
        var caughtUp = await b.GetLagAsync();

        Assert.Multiple(() =>
        {
            Assert.That(synced.Lag, Is.Not.Null);
            Assert.That(synced.Lag!.UpToDate, Is.True);
            Assert.That(synced.Lag.TimeBehind, Is.EqualTo(TimeSpan.Zero));
            Assert.That(lagAfterSync.ChangesBehind, Is.Zero);
            // Nobody else writes this hub meanwhile (the fixture's tests run one at a time), so the bound is exact here.
            Assert.That(behind.ChangesBehind, Is.EqualTo(4));
            Assert.That(behind.UpToDate, Is.False);
            Assert.That(behind.HeadCommittedAt, Is.Not.Null);
            Assert.That(behind.CursorCommittedAt, Is.EqualTo(lagAfterSync.HeadCommittedAt));
            Assert.That(behind.TimeBehind, Is.EqualTo(behind.HeadCommittedAt - behind.CursorCommittedAt));
            // What the store saved with the cursor: the hub's word at the sync, not refreshed by asking.
            Assert.That(saved, Is.Not.Null);
            Assert.That(saved!.ChangesBehind, Is.Zero);
            Assert.That(saved.HeadCommittedAt, Is.EqualTo(synced.Lag.HeadCommittedAt));
            Assert.That(caughtUp.ChangesBehind, Is.Zero);
            Assert.That(b.GetStoreStatus().LastKnownLag!.HeadCommittedAt, Is.EqualTo(behind.HeadCommittedAt));
        });
    }

    [Test]
    public async Task GetStoreStatus_NeverSynced_HasNoLastKnownLag()
    {
        await using var b = await _hub.OpenAsync(B, _hub.NewStorePath("b"));

        Assert.That(b.GetStoreStatus().LastKnownLag, Is.Null);
    }

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool).</summary>
    private sealed class InlineProgress(Action<SyncResult> report) : IProgress<SyncResult>
    {
        public void Report(SyncResult value) => report(value);
    }

    [Test]
    public async Task MatchAsync_AfterContributeRelabelRetract_FollowsEachChange()
    {
        var image = TestImages.Synthetic(seed: 11);
        await using var a = await _hub.OpenAsync(A);
        await using var b = await _hub.OpenAsync(B, _hub.NewStorePath("b"));
        await b.SyncAsync();

        var receipt = await a.ContributeAsync(new MemoryStream(image), ["behavior:glorification"], new ContributionProvenance(ContributionSource.UserReport, CaseReference: "case-11"));
        await b.SyncAsync();
        var matched = await b.MatchAsync(new MemoryStream(image));

        Assert.That(receipt.Signals.Select(s => s.SignalType), Is.EqualTo(new[] { "pdq", "md5", "sha256" }));
        Assert.That(receipt.Signals.Any(s => s.Held), Is.False, "members off probation share at once");
        Assert.That(matched.Matches.Select(m => m.SignalType), Is.EquivalentTo(new[] { "pdq", "md5", "sha256" }));
        Assert.That(matched.Matches.All(m => m.Labels.SequenceEqual(["behavior:glorification"])), Is.True);
        Assert.That(matched.Matches.All(m => m.Distance == 0 && m.Contributors.Single().MemberName == A), Is.True);
        Assert.That(matched.Matches[0].Confidence, Is.EqualTo(0.5), "one member in good standing, identical content");
        Assert.That(matched.Action, Is.EqualTo(MatchAction.Block));

        await a.RelabelAsync(receipt.Signals[0].ContributionId, ["behavior:recruitment"]);
        await b.SyncAsync();
        var relabelled = await b.MatchAsync(new MemoryStream(image));
        Assert.That(relabelled.Matches.Single(m => m.SignalType == "pdq").Labels, Is.EqualTo(new[] { "behavior:recruitment" }));

        await a.RetractAsync(receipt, "contributed by mistake");
        await b.SyncAsync();
        var retracted = await b.MatchAsync(new MemoryStream(image));
        Assert.That(retracted.IsMatch, Is.False);
        Assert.That(retracted.Action, Is.EqualTo(MatchAction.Allow));
        Assert.That(b.Index.Holds("pdq", receipt.Hashes.Pdq!), Is.False);
    }

    [Test]
    public async Task SyncAsync_CrashBetweenApplyingAPageAndCommittingIt_ResumesWithoutLossOrDoubleApplication()
    {
        await using var a = await _hub.OpenAsync(A);
        await RealHub.SubmitRandomAsync(a, 20);
        var path = _hub.NewStorePath("crash");
        await using (var b = await _hub.OpenAsync(B, path, o => (o.SyncPageSize, o.BootstrapFromSnapshot) = (5, false)))
        {
            var pages = 0;
            b.Store!.BeforeCommit = () =>
            {
                // The third page is written with its cursor, then the process "dies" before the commit.
                if (++pages == 3)
                {
                    throw new IOException("simulated crash before commit");
                }
            };
            Assert.ThrowsAsync<IOException>(() => b.SyncAsync());
            var afterCrash = b.GetStoreStatus();
            Assert.That(afterCrash.ChangesApplied, Is.EqualTo(10), "two pages committed, the third rolled back");
            Assert.That(afterCrash.IndexedSignals, Is.EqualTo(afterCrash.ActiveSignals), "the index never saw the rolled-back page");

            // The same process carries on (the index is still in memory).
            b.Store.BeforeCommit = null;
            await b.SyncAsync();
            await AssertStoreEqualsHubAsync(a, b, replayedWholeLog: true);
        }

        // A restart loads the index from the store.
        await using var reopened = await _hub.OpenAsync(B, path);
        var status = reopened.GetStoreStatus();
        Assert.That(status.IndexedSignals, Is.EqualTo(status.ActiveSignals));
        Assert.That((await reopened.SyncAsync()).ChangesApplied, Is.Zero);
        await AssertStoreEqualsHubAsync(a, reopened, replayedWholeLog: true);
    }

    [Test]
    public async Task SyncAsync_AndLiveSync_CursorOfAnotherHub_ReplaceTheLocalCopyAndSaySo()
    {
        var path = _hub.NewStorePath("moved");
        var livePath = _hub.NewStorePath("moved-live");
        await using (var a = await _hub.OpenAsync(A))
        {
            await RealHub.SubmitRandomAsync(a, 6);
            await using var b = await _hub.OpenAsync(B, path);
            await b.SyncAsync();
            await using var live = await _hub.OpenAsync(B, livePath);
            await live.SyncAsync();
        }
        await using var other = await RealHub.StartAsync(A, B);
        await using var otherA = await other.OpenAsync(A);
        await RealHub.SubmitRandomAsync(otherA, 4);

        // The same store files, now pointed at a hub whose change log is another one.
        await using (var moved = await other.OpenAsync(B, path))
        {
            var result = await moved.SyncAsync();

            Assert.That(result.Resynced, Is.True);
            Assert.That(result.Bootstrapped, Is.True);
            Assert.That(result.ChangesApplied, Is.EqualTo(4));
            await AssertStoreEqualsHubAsync(otherA, moved);
        }

        await using var movedLive = await other.OpenAsync(B, livePath);
        var events = new System.Collections.Concurrent.ConcurrentQueue<SyncEvent>();
        using var stop = new CancellationTokenSource();
        var running = movedLive.RunLiveSyncAsync(events.Enqueue, stop.Token);
        await Eventually.ThatAsync(() => events.Any(e => e.Kind == SyncEventKind.CaughtUp), "live sync catches up with the other hub");
        await stop.CancelAsync();
        await running;

        Assert.That(events.First().Kind, Is.EqualTo(SyncEventKind.Resyncing));
        await AssertStoreEqualsHubAsync(otherA, movedLive);
    }

    [Test]
    public async Task SyncAsync_WhileLiveSyncRuns_AppliesEachChangeOnce()
    {
        await using var a = await _hub.OpenAsync(A);
        await using var b = await _hub.OpenAsync(B, _hub.NewStorePath("both"), o => o.SyncPageSize = 3);
        using var stop = new CancellationTokenSource();
        var live = b.RunLiveSyncAsync(cancellationToken: stop.Token);

        for (var i = 0; i < 5; i++)
        {
            await RealHub.SubmitRandomAsync(a, 4);
            await b.SyncAsync();
        }
        var (total, _) = await RealHub.ReadLogAsync(a);
        await Eventually.ThatAsync(() => b.GetStoreStatus().ChangesApplied >= total, "B holds the whole log");
        await stop.CancelAsync();
        await live;

        await AssertStoreEqualsHubAsync(a, b);
    }

    [Test]
    public async Task OpenAsync_StoreOpenInAnotherClient_IsRefused()
    {
        var path = _hub.NewStorePath("owned");
        await using var first = await _hub.OpenAsync(B, path);

        var e = Assert.ThrowsAsync<InvalidOperationException>(() => _hub.OpenAsync(B, path));

        Assert.That(e!.Message, Does.Contain("open in another HashHub client"));
    }

    [Test]
    public async Task ContributeAsync_UnknownLabel_FailsWithTheFieldAndRecordsNothing()
    {
        await using var a = await _hub.OpenAsync(A);
        var (before, _) = await RealHub.ReadLogAsync(a);

        var e = Assert.ThrowsAsync<RpcException>(() => a.ContributeAsync(new MemoryStream(TestImages.Synthetic(5)), ["no:such-label"]));

        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Status.Detail, Does.Contain("labels"));
        Assert.That((await RealHub.ReadLogAsync(a)).Changes, Is.EqualTo(before));
    }

    /// <summary>The store holds exactly the hub's log: every change applied once, every signal in its last state, the index on the active ones.</summary>
    /// <summary>
    /// The store holds every active signal the hub has, in its index too. With <paramref name="replayedWholeLog"/> (a store
    /// bootstrapped from the log, not a snapshot), also exactly one application per change and every tombstone.
    /// </summary>
    internal static async Task AssertStoreEqualsHubAsync(HashHubClient reader, HashHubClient member, bool replayedWholeLog = false)
    {
        var (changes, signals) = await RealHub.ReadLogAsync(reader);
        var status = member.GetStoreStatus();
        if (replayedWholeLog)
        {
            Assert.That(status.ChangesApplied, Is.EqualTo(changes), "changes applied once each");
            Assert.That(status.SignalsHeld, Is.EqualTo(signals.Count));
        }
        else
        {
            // A snapshot brings no tombstones: a signal retracted before it was taken is not held at all.
            Assert.That(status.SignalsHeld, Is.InRange(signals.Values.Count(s => s.Status == Protos.V1.SignalStatus.Active), signals.Count));
        }
        var active = signals.Values.Where(s => s.Status == Protos.V1.SignalStatus.Active).ToList();
        Assert.That(status.ActiveSignals, Is.EqualTo(active.Count));
        Assert.That(status.IndexedSignals, Is.EqualTo(active.Count(s => s.Signal.Type is Protos.V1.SignalType.Pdq or Protos.V1.SignalType.Md5 or Protos.V1.SignalType.Sha256 or Protos.V1.SignalType.Url)));
        foreach (var s in active)
        {
            Assert.That(member.Index.Holds(Store.SignalTypeNames.Of(s.Signal.Type), s.Signal.Value), Is.True, s.Signal.Value);
        }
    }
}
