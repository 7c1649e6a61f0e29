using System.Collections.Concurrent;
using HashHub.Client.Sync;
using HashHub.Client.Tests.Infrastructure;

namespace HashHub.Client.Tests.Sync;

/// <summary>
/// A store with no cursor starts from the hub's snapshot (snapshots.proto) and then reads the log after it. A hub per
/// test: the hub makes its snapshot when first asked, so each test knows exactly what the snapshot holds.
/// </summary>
public sealed class SnapshotBootstrapTests
{
    private const string A = "Platform A";
    private const string B = "Platform B";

    [Test]
    public async Task SyncAsync_FirstSync_FillsTheStoreFromTheSnapshotWithoutTombstonesThenReadsTheLog()
    {
        await using var hub = await RealHub.StartAsync(A, B);
        await using var a = await hub.OpenAsync(A);
        var submitted = await RealHub.SubmitRandomAsync(a, 30);
        foreach (var result in submitted.Results.Take(5))
        {
            await a.RetractAsync(result.ContributionId);
        }
        await using var b = await hub.OpenAsync(B, hub.NewStorePath("b"), o => o.SyncPageSize = 7);

        var first = await b.SyncAsync();
        var held = b.GetStoreStatus();
        await RealHub.SubmitRandomAsync(a, 10);
        await a.RetractAsync(submitted.Results[10].ContributionId);
        var second = await b.SyncAsync();

        Assert.Multiple(() =>
        {
            Assert.That(first.Bootstrapped && first.FromSnapshot, Is.True);
            Assert.That(first.ChangesApplied, Is.EqualTo(25), "the 25 signals still active, once each");
            Assert.That(first.Pages, Is.EqualTo(5), "batches of 7: 7, 7, 7 and the last 4 with the cursor, then one page of the log (empty)");
            Assert.That(held.SignalsHeld, Is.EqualTo(25), "no tombstones of what was retracted before");
            Assert.That(held.IndexedSignals, Is.EqualTo(25));
            Assert.That(first.Lag!.UpToDate, Is.True);
            Assert.That(second.FromSnapshot || second.Bootstrapped, Is.False);
            Assert.That(second.ChangesApplied, Is.EqualTo(11), "then the log: 10 new signals and a retraction");
            Assert.That(b.GetStoreStatus().ActiveSignals, Is.EqualTo(34));
        });
        await SyncTests.AssertStoreEqualsHubAsync(a, b);
    }

    [Test]
    public async Task SyncAsync_BootstrapCutOffHalfWay_KeepsNoCursorAndStartsOverCleanly()
    {
        await using var hub = await RealHub.StartAsync(A, B);
        await using var a = await hub.OpenAsync(A);
        await RealHub.SubmitRandomAsync(a, 30);
        var path = hub.NewStorePath("cut");
        await using var b = await hub.OpenAsync(B, path, o => o.SyncPageSize = 5);
        var commits = 0;
        b.Store!.BeforeCommit = () =>
        {
            // The second batch is written, then the process "dies" before its commit.
            if (++commits == 2)
            {
                throw new IOException("simulated crash before commit");
            }
        };

        Assert.ThrowsAsync<IOException>(() => b.SyncAsync());
        var cut = b.GetStoreStatus();
        b.Store.BeforeCommit = null;
        var again = await b.SyncAsync();

        Assert.Multiple(() =>
        {
            Assert.That(cut.Cursor, Is.Empty, "no cursor until the snapshot's last batch: nothing to go on from");
            Assert.That(cut.SignalsHeld, Is.EqualTo(5), "the first batch committed, the second rolled back");
            Assert.That(cut.IndexedSignals, Is.EqualTo(5), "the index never saw the rolled-back batch");
            Assert.That(again.FromSnapshot, Is.True);
            Assert.That(again.ChangesApplied, Is.EqualTo(30));
            Assert.That(b.GetStoreStatus().SignalsHeld, Is.EqualTo(30), "the first batch was dropped and applied again, not doubled");
        });
        await SyncTests.AssertStoreEqualsHubAsync(a, b);
    }

    [Test]
    public async Task RunLiveSyncAsync_EmptyStore_BootstrapsFromTheSnapshotThenSubscribes()
    {
        await using var hub = await RealHub.StartAsync(A, B);
        await using var a = await hub.OpenAsync(A);
        await RealHub.SubmitRandomAsync(a, 12);
        await using var b = await hub.OpenAsync(B, hub.NewStorePath("live"));
        var events = new ConcurrentQueue<SyncEvent>();
        using var stop = new CancellationTokenSource();

        var live = b.RunLiveSyncAsync(events.Enqueue, stop.Token);
        await Eventually.ThatAsync(() => events.Any(e => e.Kind == SyncEventKind.CaughtUp), "B is live");
        await RealHub.SubmitRandomAsync(a, 3);
        await Eventually.ThatAsync(() => b.GetStoreStatus().SignalsHeld == 15, "B applied A's three new signals");
        await stop.CancelAsync();
        await live;

        var kinds = events.Select(e => e.Kind).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(kinds[0], Is.EqualTo(SyncEventKind.Bootstrapped), "the snapshot comes before the subscription");
            Assert.That(events.First().Changes, Is.EqualTo(12));
            Assert.That(events.Where(e => e.Kind == SyncEventKind.Applied).Sum(e => e.Changes), Is.EqualTo(3), "the subscription repeats nothing the snapshot held");
        });
        await SyncTests.AssertStoreEqualsHubAsync(a, b);
    }
}
