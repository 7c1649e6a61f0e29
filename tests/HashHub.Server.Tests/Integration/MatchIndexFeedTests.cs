using HashHub.Core.Matching;
using HashHub.Core.Signals;
using HashHub.Server.Matching;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// The hub's match index follows the change log exactly, whether a run of the log reaches it posted by this
/// node's write path (<see cref="LocalChanges"/>) or read back by <see cref="MatchIndexFeeder"/>.
/// </summary>
[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class MatchIndexFeedTests(StorageProvider provider)
{
    private readonly Random _random = new(20261130);

    [Test]
    public async Task Index_AfterNewRetractedAndRecontributedSignals_HoldsExactlyTheActiveOnes()
    {
        using var hub = await HubFactory.CreateAsync(provider);
        using var a = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
        using var b = await hub.ConnectAsAsync(await hub.AddMemberAsync("Beta"));
        var pdq = RandomPdq(_random);
        var md5 = RandomMd5();

        // New signals (posted with their state), a retraction (read back), the same signal contributed again
        // (posted by id only, its state read), and a batch mixing a new signal with a stored one.
        var first = await a.Contributions.SubmitContributionsAsync(Batch(Item(pdq), Item(md5)));
        await a.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = first.Results[1].ContributionId });
        await b.Contributions.SubmitContributionsAsync(Batch(Item(md5), Item(RandomPdq(_random))));
        await b.Contributions.SubmitContributionsAsync(Batch(Item(pdq), Item(RandomSha256())));
        await a.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = first.Results[0].ContributionId });

        await AssertIndexMatchesDatabaseAsync(hub);
    }

    [Test]
    public async Task Index_ManyConcurrentBatches_HoldsEverySignalOnce()
    {
        using var hub = await HubFactory.CreateAsync(provider);
        var clients = new List<HubClient>();
        for (var i = 0; i < 4; i++)
        {
            clients.Add(await hub.ConnectAsAsync(await hub.AddMemberAsync($"Member {i}")));
        }
        // Shared signals make batches of different members touch the same rows.
        var shared = Enumerable.Range(0, 20).Select(_ => RandomMd5()).ToList();

        await Task.WhenAll(clients.Select(async (client, c) =>
        {
            for (var round = 0; round < 10; round++)
            {
                var items = Enumerable.Range(0, 20).Select(_ => Item(RandomPdq(new Random(_random.Next())))).ToList();
                items.Add(Item(shared[(c + round) % shared.Count]));
                await client.Contributions.SubmitContributionsAsync(Batch([.. items]));
            }
        }));

        try
        {
            await AssertIndexMatchesDatabaseAsync(hub);
        }
        finally
        {
            clients.ForEach(c => c.Dispose());
        }
    }

    [Test]
    public async Task Feeder_PostedRun_IsAppliedAsPostedWithoutReadingTheLog()
    {
        using var hub = await HubFactory.CreateAsync(provider);
        var index = hub.Services.GetRequiredService<HubMatchIndex>();
        Assert.That(await index.WaitForAsync(await MaxSeqAsync(hub), TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        var position = index.Position;
        var md5 = RandomMd5().Value;

        // A run the log does not hold: only the post can put this signal in the index.
        hub.Services.GetRequiredService<LocalChanges>().Post(position + 1, position + 1, [new(int.MaxValue - 1, "md5", md5, true)], []);
        hub.Services.GetRequiredService<ChangeNotifier>().Notify();

        Assert.That(await index.WaitForAsync(position + 1, TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        var hits = new List<SignalMatch>();
        index.Query(SignalTypes.Md5, md5, 0, hits);
        Assert.That(hits, Is.EqualTo(new[] { new SignalMatch(int.MaxValue - 1, 0) }));
    }

    [Test]
    public async Task Feeder_OwnPostedBatches_NeedNoReadOfTheLogAndAnAnnouncedCommitIsReadWithoutAPoll()
    {
        // Polls five minutes apart: within this test only announced commits wake the feeder.
        using var hub = await HubFactory.CreateAsync(provider, new Dictionary<string, string?> { ["Hub:SubscriptionPollInterval"] = "00:05:00" });
        using var client = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
        var index = hub.Services.GetRequiredService<HubMatchIndex>();
        var feeder = hub.Services.GetServices<IHostedService>().OfType<MatchIndexFeeder>().Single();
        var first = (await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())))).Results[0];
        Assert.That(await index.WaitForAsync(await MaxSeqAsync(hub), TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        var reads = feeder.Reads;

        // Each batch is applied as posted before the next is sent, so each wakes the feeder on its own.
        for (var i = 0; i < 8; i++)
        {
            await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5()), Item(RandomPdq(new Random(_random.Next())))));
            Assert.That(await index.WaitForAsync(await MaxSeqAsync(hub), TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        }
        // At most one read: a listener's (re)connection names no head and is answered by a read.
        Assert.That(feeder.Reads - reads, Is.LessThanOrEqualTo(1), "no read of the log after each posted batch");

        // A retraction posts nothing: its commit, announced with its sequence number, is read at once.
        var record = (await client.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = first.ContributionId })).Signal;
        Assert.That(await index.WaitForAsync(await MaxSeqAsync(hub), TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        var hits = new List<SignalMatch>();
        index.Query(SignalTypes.Md5, record.Signal.Value, 0, hits);
        Assert.That(hits, Is.Empty, "the retracted signal left the index");
        await AssertIndexMatchesDatabaseAsync(hub);
    }

    [Test]
    public async Task Feeder_ReservedRun_WaitsForItsPostInsteadOfReadingTheLog()
    {
        using var scene = await FeedScene.StartAsync(provider);
        var next = scene.Position + 1;

        // A retraction appends change position + 1 and posts nothing: reserved here, the feeder waits for a post.
        // A read the feeder had already sent (woken late by the first commit, or polling) would still take the
        // change if it committed meanwhile, so that read is given time to finish first.
        scene.Local.Reserve(next, next);
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        var record = await scene.RetractAsync();
        Assert.That(scene.Index.Position, Is.EqualTo(scene.Position), "waiting for the reserved run's post");

        scene.Local.Post(next, next, [new(long.Parse(scene.Contribution.SignalId), "md5", record.Signal.Value, false)], []);

        Assert.That(await scene.Index.WaitForAsync(next, TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        Assert.That(scene.Feeder.RowsRead, Is.EqualTo(scene.RowsReadBefore), "applied as posted, not read back");
        await AssertIndexMatchesDatabaseAsync(scene.Hub);
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Feeder_ReservedRunReleasedOrNeverPosted_IsReadFromTheLog(bool release)
    {
        using var scene = await FeedScene.StartAsync(provider);
        var next = scene.Position + 1;

        scene.Local.Reserve(next, next);
        await scene.RetractAsync();
        if (release)
        {
            scene.Local.Release(next);
        }

        // Released: read at once; never settled: read after MatchIndexFeeder.ReservationWait.
        Assert.That(await scene.Index.WaitForAsync(next, TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        Assert.That(scene.Feeder.RowsRead, Is.EqualTo(scene.RowsReadBefore + 1));
        await AssertIndexMatchesDatabaseAsync(scene.Hub);
    }

    /// <summary>A hub whose index has caught up after one member contributed one MD5 signal, and its feed's parts.</summary>
    private sealed class FeedScene : IDisposable
    {
        private FeedScene(HubFactory hub, HubClient client, Proto.ContributionResult contribution)
        {
            Hub = hub;
            Client = client;
            Contribution = contribution;
            Local = hub.Services.GetRequiredService<LocalChanges>();
            Index = hub.Services.GetRequiredService<HubMatchIndex>();
            Feeder = hub.Services.GetServices<IHostedService>().OfType<MatchIndexFeeder>().Single();
            Position = Index.Position;
            RowsReadBefore = Feeder.RowsRead;
        }

        public HubFactory Hub { get; }

        public HubClient Client { get; }

        public Proto.ContributionResult Contribution { get; }

        public LocalChanges Local { get; }

        public HubMatchIndex Index { get; }

        public MatchIndexFeeder Feeder { get; }

        public long Position { get; }

        public long RowsReadBefore { get; }

        public static async Task<FeedScene> StartAsync(StorageProvider provider)
        {
            var hub = await HubFactory.CreateAsync(provider);
            var client = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
            var result = (await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())))).Results[0];
            Assert.That(await hub.Services.GetRequiredService<HubMatchIndex>().WaitForAsync(await MaxSeqAsync(hub), TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
            return new FeedScene(hub, client, result);
        }

        /// <summary>Retracts the contribution: one change, which nothing posts.</summary>
        public async Task<Proto.SignalRecord> RetractAsync() =>
            (await Client.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = Contribution.ContributionId })).Signal;

        public void Dispose()
        {
            Client.Dispose();
            Hub.Dispose();
        }
    }

    internal static async Task<long> MaxSeqAsync(HubFactory hub)
    {
        await using var scope = hub.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<HubDbContext>().Changes.MaxAsync(c => (long?)c.Seq) ?? 0;
    }

    /// <summary>Once caught up with the log, the index holds every active signal once and nothing else.</summary>
    internal static async Task AssertIndexMatchesDatabaseAsync(HubFactory hub)
    {
        var index = hub.Services.GetRequiredService<HubMatchIndex>();
        Assert.That(await index.WaitForAsync(await MaxSeqAsync(hub), TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        await using var scope = hub.Services.CreateAsyncScope();
        var signals = await scope.ServiceProvider.GetRequiredService<HubDbContext>().Signals.AsNoTracking().ToListAsync();
        var hits = new List<SignalMatch>();
        Assert.Multiple(() =>
        {
            foreach (var signal in signals)
            {
                hits.Clear();
                index.Query(SignalTypes.Find(signal.Type)!, signal.Value, 0, hits);
                var expected = signal.Status == SignalStatus.Active ? new[] { new SignalMatch((int)signal.Id, 0) } : [];
                Assert.That(hits, Is.EqualTo(expected), $"{signal.Type} {signal.Value} ({signal.Status})");
            }
            Assert.That(index.Count, Is.EqualTo(signals.Count(s => s.Status == SignalStatus.Active)));
        });
    }
}
