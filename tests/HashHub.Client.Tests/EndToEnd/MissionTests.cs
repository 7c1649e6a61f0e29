using System.Collections.Concurrent;
using System.Diagnostics;
using HashHub.Client.Contributing;
using HashHub.Client.Matching;
using HashHub.Client.Sync;
using HashHub.Client.Tests.Infrastructure;

namespace HashHub.Client.Tests.EndToEnd;

/// <summary>
/// The mission over real sockets: one platform's takedown stops a re-encoded or resized re-upload on another member's
/// platform, and the takedown's retraction lifts it. A real hub process on loopback ports; members A and B each with
/// their own credentials; B in live sync with its own local store and index.
/// </summary>
public sealed class MissionTests
{
    private const string A = "Platform A";
    private const string B = "Platform B";

    [Test]
    public async Task Takedown_AtA_MatchesReencodedAndHalfSizeCopiesAtB_UntilARetracts()
    {
        await using var hub = await RealHub.StartAsync(A, B);
        await using var a = await hub.OpenAsync(A);
        await using var b = await hub.OpenAsync(B, hub.NewStorePath("b"));

        var original = await File.ReadAllBytesAsync(TestImages.Photo);
        var reencoded = TestImages.ReencodeJpeg(original, quality: 70);
        var halfSize = TestImages.HalfSize(original);
        Assert.That(reencoded, Is.Not.EqualTo(original));

        // B watches its own index: the moment a live burst puts A's PDQ in (or takes it out).
        string? watched = null;
        long heldAt = 0, goneAt = 0;
        var events = new ConcurrentQueue<SyncEvent>();
        using var stop = new CancellationTokenSource();
        var live = b.RunLiveSyncAsync(e =>
        {
            events.Enqueue(e);
            if (e.Kind == SyncEventKind.Applied && Volatile.Read(ref watched) is { } pdq)
            {
                if (b.Index.Holds("pdq", pdq))
                {
                    Interlocked.CompareExchange(ref heldAt, Stopwatch.GetTimestamp(), 0);
                }
                else if (Interlocked.Read(ref heldAt) != 0)
                {
                    Interlocked.CompareExchange(ref goneAt, Stopwatch.GetTimestamp(), 0);
                }
            }
        }, stop.Token);
        await Eventually.ThatAsync(() => events.Any(e => e.Kind == SyncEventKind.CaughtUp), "B is live");

        // A takes the photo down and shares its hashes (computed at A; the image never leaves A).
        var pdqOfOriginal = Core.Signals.Pdq.PdqHasher.HashFile(TestImages.Photo).Hash.ToHex();
        Volatile.Write(ref watched, pdqOfOriginal);
        var receipt = await a.ContributeAsync(TestImages.Photo, ["behavior:glorification", "content_type:image"],
            new ContributionProvenance(ContributionSource.Upload, CaseReference: "A-2026-0042"));
        var acknowledgedAt = Stopwatch.GetTimestamp();
        await Eventually.ThatAsync(() => Interlocked.Read(ref heldAt) != 0, "B's index holds A's PDQ");
        // The push can land before A's own answer does; then the latency is nil.
        var latency = Stopwatch.GetElapsedTime(acknowledgedAt, Math.Max(acknowledgedAt, Interlocked.Read(ref heldAt)));
        TestContext.Out.WriteLine($"takedown to B's index: {latency.TotalMilliseconds:F1} ms after A's acknowledgement");

        var signalIds = receipt.Signals.Select(s => s.SignalId).ToHashSet();
        foreach (var (name, copy) in new[] { ("re-encoded JPEG q70", reencoded), ("half size", halfSize) })
        {
            var result = await b.MatchAsync(new MemoryStream(copy));
            var pdq = result.Matches.SingleOrDefault(m => m.SignalType == "pdq");
            Assert.That(pdq, Is.Not.Null, $"{name}: no PDQ match");
            TestContext.Out.WriteLine($"{name}: PDQ distance {pdq!.Distance}, confidence {pdq.Confidence}, action {result.Action}");
            Assert.That(signalIds, Does.Contain(pdq.SignalId));
            Assert.That(pdq.Labels, Is.EquivalentTo(new[] { "behavior:glorification", "content_type:image" }), name);
            Assert.That(pdq.Contributors.Single().MemberName, Is.EqualTo(A), name);
            Assert.That(pdq.Status, Is.EqualTo(MatchStatus.Active));
            Assert.That(pdq.Distance, Is.LessThanOrEqualTo(31));
            Assert.That(result.Matches.Any(m => m.SignalType is "md5" or "sha256"), Is.False, $"{name}: other bytes, so no exact match");
            Assert.That(result.Action, Is.Not.EqualTo(MatchAction.Allow));
        }
        var rotated = await b.MatchAsync(TestImages.PhotoRotated90);
        Assert.That(rotated.Matches.Any(m => m.SignalType == "pdq" && signalIds.Contains(m.SignalId)), Is.True, "a rotated copy matches through the dihedral hashes");

        // A retracts: the tombstone reaches B live and the match is gone.
        await a.RetractAsync(receipt, "appeal upheld");
        await Eventually.ThatAsync(() => Interlocked.Read(ref goneAt) != 0, "B's index drops the retracted PDQ");
        var afterRetraction = await b.MatchAsync(new MemoryStream(reencoded));
        Assert.That(afterRetraction.IsMatch, Is.False);
        Assert.That(afterRetraction.Action, Is.EqualTo(MatchAction.Allow));

        await stop.CancelAsync();
        await live;
    }
}
