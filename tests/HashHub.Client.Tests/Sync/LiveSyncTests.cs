using System.Collections.Concurrent;
using Grpc.Core;
using HashHub.Client.Matching;
using HashHub.Client.Sync;
using HashHub.Client.Tests.Infrastructure;

namespace HashHub.Client.Tests.Sync;

/// <summary>
/// Live sync over a real hub process: what its Applied event promises, and a hub killed and restarted while a member
/// keeps contributing.
/// </summary>
public sealed class LiveSyncTests
{
    private const string A = "Platform A";
    private const string B = "Platform B";

    /// <summary>
    /// The Applied event is the hook the takedown-to-block latency is measured with (tests/HashHub.Benchmarks
    /// <c>latency</c>): when it names a signal, the burst is committed to the store and in the index, so a MatchAsync
    /// made at that very moment, from the handler itself, already blocks the takedown.
    /// </summary>
    [Test]
    public async Task RunLiveSyncAsync_AppliedEvent_RaisedOnceStoreAndIndexHoldTheSignals()
    {
        await using var hub = await RealHub.StartAsync(A, B);
        await using var a = await hub.OpenAsync(A);
        await using var b = await hub.OpenAsync(B, hub.NewStorePath("b-applied"));
        var image = TestImages.Synthetic(seed: 7);
        var md5 = Core.Signals.Exact.ExactHasher.Compute(new MemoryStream(image)).Md5;
        var caughtUp = 0;
        var seen = new ConcurrentQueue<(SyncEvent Event, MatchAction Action, long ChangesApplied, string Cursor)>();
        using var stop = new CancellationTokenSource();
        var live = b.RunLiveSyncAsync(e =>
        {
            if (e.Kind == SyncEventKind.CaughtUp)
            {
                Interlocked.Exchange(ref caughtUp, 1);
            }
            else if (e.Kind == SyncEventKind.Applied && e.SignalValues.Contains(md5))
            {
                // Blocking the sync loop is the point here: the state is read before the handler returns, when no
                // later burst can have changed it.
                var result = b.MatchAsync(new MemoryStream(image)).GetAwaiter().GetResult();
                var status = b.GetStoreStatus();
                seen.Enqueue((e, result.Action, status.ChangesApplied, status.Cursor));
            }
        }, stop.Token);
        await Eventually.ThatAsync(() => Volatile.Read(ref caughtUp) == 1, "B is live");

        var receipt = await a.ContributeAsync(new MemoryStream(image), ["behavior:glorification"]);
        await Eventually.ThatAsync(() => !seen.IsEmpty, "an Applied event names A's takedown");
        await stop.CancelAsync();
        await live;

        var (applied, action, changesApplied, cursor) = seen.Single();
        Assert.That(receipt.Signals.Select(s => s.SignalType), Does.Contain("pdq"), "the image has a PDQ, so the test covers the PDQ index too");
        Assert.That(applied.SignalValues, Is.SupersetOf(receipt.Signals.Select(s => s.Value)), "the takedown's signals come in one burst");
        Assert.That(action, Is.EqualTo(MatchAction.Block));
        Assert.That(changesApplied, Is.EqualTo(receipt.Signals.Count), "the store had committed the burst");
        Assert.That(cursor, Is.EqualTo(applied.Cursor), "with the cursor the event names");
    }

    [Test]
    public async Task RunLiveSyncAsync_HubKilledAndRestarted_ReconnectsAndResumesWithoutLossOrRepeats()
    {
        await using var hub = await RealHub.StartAsync(A, B);
        await using var a = await hub.OpenAsync(A);
        await using var b = await hub.OpenAsync(B, hub.NewStorePath("b-live"));
        var events = new ConcurrentQueue<SyncEvent>();
        using var stop = new CancellationTokenSource();
        var live = b.RunLiveSyncAsync(events.Enqueue, stop.Token);

        await RealHub.SubmitRandomAsync(a, 10);
        await Eventually.ThatAsync(() => b.GetStoreStatus().ChangesApplied == 10, "B applies the first 10 changes live");

        // A keeps contributing while the hub dies and comes back; batches cut off by the crash may or may not be in
        // the log (the hub's log is the truth the store is compared with below).
        using var stopWriter = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stopWriter.IsCancellationRequested)
            {
                try
                {
                    await RealHub.SubmitRandomAsync(a, 4);
                }
                catch (RpcException)
                {
                    // The hub is down: the SDK's retries gave up; try again.
                }
                await Task.Delay(30);
            }
        });
        await Eventually.ThatAsync(() => b.GetStoreStatus().ChangesApplied >= 30, "B receives some of A's stream");
        hub.Process.Kill();
        await Eventually.ThatAsync(() => events.Any(e => e.Kind == SyncEventKind.Disconnected), "B notices the hub is gone");
        await hub.Process.StartAsync();
        await Eventually.ThatAsync(() => events.Count(e => e.Kind == SyncEventKind.Connected) >= 2, "B reconnects");
        var applied = b.GetStoreStatus().ChangesApplied;
        await Eventually.ThatAsync(() => b.GetStoreStatus().ChangesApplied >= applied + 20, "B receives changes after the restart");
        await stopWriter.CancelAsync();
        await writer;
        var (total, _) = await RealHub.ReadLogAsync(a);
        await Eventually.ThatAsync(() => b.GetStoreStatus().ChangesApplied >= total, "B catches up with the whole log");

        await stop.CancelAsync();
        await live;
        await SyncTests.AssertStoreEqualsHubAsync(a, b);
        TestContext.Out.WriteLine($"{total} changes; B disconnected {events.Count(e => e.Kind == SyncEventKind.Disconnected)} times and reconnected {events.Count(e => e.Kind == SyncEventKind.Connected) - 1}");
    }
}
