using Grpc.Core;
using HashHub.Client.Matching;
using HashHub.Client.Tests.Infrastructure;

namespace HashHub.Client.Tests.Matching;

/// <summary>
/// Hub-side matching for a small member that keeps no list: the SDK hashes locally and sends only the hashes to the
/// hub's Match RPC; outcomes go back with ReportOutcomes. A real hub process, with its rate limits on and a low limit
/// on Match, so the SDK meets the hub's real ResourceExhausted answers and their retry hints.
/// </summary>
public sealed class HubMatchTests
{
    private const string A = "Platform A";
    private const string Small = "Small Platform";
    private RealHub _hub = null!;

    [OneTimeSetUp]
    public async Task StartHub() => _hub = await RealHub.StartAsync(
        ["--RateLimits:Enabled=true", "--RateLimits:Methods:Match:PerSecond=2", "--RateLimits:Methods:Match:Burst=2"], A, Small);

    [OneTimeTearDown]
    public async Task StopHub() => await _hub.DisposeAsync();

    [Test]
    public async Task MatchAsync_OnHub_FindsAReencodedCopyWithTheContributorsLabels_UntilRetracted()
    {
        var image = TestImages.Synthetic(seed: 21, size: 400);
        await using var a = await _hub.OpenAsync(A);
        var receipt = await a.ContributeAsync(new MemoryStream(image), ["behavior:recruitment"]);
        await using var small = await _hub.OpenAsync(Small, storePath: null, o => o.MatchOnHub = true);

        var result = await small.MatchAsync(new MemoryStream(TestImages.ReencodeJpeg(image, 70)));

        var pdq = result.Matches.Single(m => m.SignalType == "pdq");
        Assert.That(pdq.SignalId, Is.EqualTo(receipt.Signals.Single(s => s.SignalType == "pdq").SignalId));
        Assert.That(pdq.Labels, Is.EqualTo(new[] { "behavior:recruitment" }));
        Assert.That(pdq.Contributors.Single().MemberName, Is.EqualTo(A));
        Assert.That(pdq.Confidence, Is.EqualTo(Core.Matching.MatchConfidence.Compute(Core.Signals.SignalTypes.Pdq, pdq.Distance, 1)));
        Assert.That(result.Action, Is.Not.EqualTo(MatchAction.Allow));
        Assert.DoesNotThrowAsync(() => small.ReportOutcomeAsync(pdq.SignalId, MatchOutcome.Actioned));

        var exact = await small.MatchAsync(new MemoryStream(image));
        Assert.That(exact.Matches.Select(m => m.SignalType), Is.EquivalentTo(new[] { "pdq", "md5", "sha256" }));

        await a.RetractAsync(receipt);
        var afterRetraction = await small.MatchAsync(new MemoryStream(image));
        Assert.That(afterRetraction.IsMatch, Is.False);
    }

    [Test]
    public async Task MatchAsync_OnHub_OverTheRateLimit_WaitsForTheHubsHintAndSucceeds()
    {
        var retries = new List<(StatusCode Status, TimeSpan Delay)>();
        await using var small = await _hub.OpenAsync(Small, storePath: null, o =>
        {
            o.MatchOnHub = true;
            o.Resilience.MaxRetryAttempts = 10;
            o.Resilience.OnRetry = (_, status, delay) => { lock (retries) { retries.Add((status, delay)); } };
        });
        var image = TestImages.Synthetic(seed: 31);

        for (var i = 0; i < 6; i++)
        {
            Assert.That((await small.MatchAsync(new MemoryStream(image))).IsMatch, Is.False);
        }

        // Two calls a second with bursts of two: six calls in a row meet the limit, and each wait is the hub's hint.
        Assert.That(retries, Is.Not.Empty);
        Assert.That(retries.All(r => r.Status == StatusCode.ResourceExhausted && r.Delay > TimeSpan.Zero), Is.True);
    }

    [Test]
    public async Task ReportOutcomeAsync_UnknownSignal_FailsWithTheField()
    {
        await using var small = await _hub.OpenAsync(Small, storePath: null, o => o.MatchOnHub = true);

        var e = Assert.ThrowsAsync<RpcException>(() => small.ReportOutcomeAsync("999999999", MatchOutcome.FalsePositive));

        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(e.Status.Detail, Does.Contain("signal_id"));
    }

    [Test]
    public async Task SyncAsync_WithoutAStore_SaysHowToConfigureOne()
    {
        await using var small = await _hub.OpenAsync(Small, storePath: null, o => o.MatchOnHub = true);

        var e = Assert.ThrowsAsync<InvalidOperationException>(() => small.SyncAsync());

        Assert.That(e!.Message, Does.Contain("StorePath"));
    }
}
