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
    public async Task Feeder_ReservedRun_WaitsForItsPostInsteadOfReadingTheLog()
    {
        var (hub, client, contribution, position) = await HubWithOneContributionAsync();
        using var _ = hub;
        using var __ = client;
        var local = hub.Services.GetRequiredService<LocalChanges>();
        var feeder = Feeder(hub);
        var read = feeder.RowsRead;

        // A retraction appends change position + 1 and posts nothing: reserved here, the feeder waits for a post.
        // A read the feeder had already sent (woken late by the first commit, or polling) would still take the
        // change if it committed meanwhile, so that read is given time to finish first.
        local.Reserve(position + 1, position + 1);
        await Task.Delay(TimeSpan.FromMilliseconds(200));
        var record = await client.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = contribution.ContributionId });
        var index = hub.Services.GetRequiredService<HubMatchIndex>();
        Assert.That(index.Position, Is.EqualTo(position), "waiting for the reserved run's post");

        local.Post(position + 1, position + 1, [new(long.Parse(contribution.SignalId), "md5", record.Signal.Signal.Value, false)], []);

        Assert.That(await index.WaitForAsync(position + 1, TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        Assert.That(feeder.RowsRead, Is.EqualTo(read), "applied as posted, not read back");
        await AssertIndexMatchesDatabaseAsync(hub);
    }

    [TestCase(true)]
    [TestCase(false)]
    public async Task Feeder_ReservedRunReleasedOrNeverPosted_IsReadFromTheLog(bool release)
    {
        var (hub, client, contribution, position) = await HubWithOneContributionAsync();
        using var _ = hub;
        using var __ = client;
        var local = hub.Services.GetRequiredService<LocalChanges>();
        var feeder = Feeder(hub);
        var read = feeder.RowsRead;

        local.Reserve(position + 1, position + 1);
        await client.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = contribution.ContributionId });
        if (release)
        {
            local.Release(position + 1);
        }

        // Released: read at once; never settled: read after MatchIndexFeeder.ReservationWait.
        var index = hub.Services.GetRequiredService<HubMatchIndex>();
        Assert.That(await index.WaitForAsync(position + 1, TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        Assert.That(feeder.RowsRead, Is.EqualTo(read + 1));
        await AssertIndexMatchesDatabaseAsync(hub);
    }

    /// <summary>A hub whose index has caught up after one member contributed one MD5 signal.</summary>
    private async Task<(HubFactory Hub, HubClient Client, Proto.ContributionResult Contribution, long Position)> HubWithOneContributionAsync()
    {
        var hub = await HubFactory.CreateAsync(provider);
        var client = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
        var result = (await client.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())))).Results[0];
        var index = hub.Services.GetRequiredService<HubMatchIndex>();
        Assert.That(await index.WaitForAsync(await MaxSeqAsync(hub), TimeSpan.FromSeconds(30), CancellationToken.None), Is.True);
        return (hub, client, result, index.Position);
    }

    private static MatchIndexFeeder Feeder(HubFactory hub) => hub.Services.GetServices<IHostedService>().OfType<MatchIndexFeeder>().Single();

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
