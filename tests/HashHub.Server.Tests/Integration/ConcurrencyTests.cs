using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

/// <summary>
/// DESIGN.md invariant 2 under real concurrency: several writers commit while several readers page through the
/// log; every reader must end with exactly the committed changes, in log order, none skipped or repeated.
/// </summary>
[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class ConcurrencyTests(StorageProvider provider)
{
    private const int Writers = 6;
    private const int BatchesPerWriter = 15;
    private const int Readers = 4;

    [Test]
    public async Task ConcurrentWritersAndReaders_EveryReaderSeesExactlyTheCommittedLogInOrder()
    {
        using var hub = await HubFactory.CreateAsync(provider);
        var writers = new List<HubClient>();
        for (var w = 0; w < Writers; w++)
        {
            writers.Add(await hub.ConnectAsAsync(await hub.AddMemberAsync($"Writer {w}")));
        }
        using var readerClient = await hub.ConnectAsAsync(await hub.AddMemberAsync("Reader"));
        var shared = Enumerable.Range(0, 40).Select(_ => RandomMd5()).ToArray();
        var writing = new CancellationTokenSource();

        async Task Write(int w)
        {
            var random = new Random(w);
            var client = writers[w];
            for (var b = 0; b < BatchesPerWriter; b++)
            {
                // Batches of different sizes overlap in time; some signals are shared, so writers contend on them.
                var items = Enumerable.Range(0, random.Next(1, 30)).Select(_ => Item(RandomPdq(random))).ToList();
                items.Add(Item(shared[random.Next(shared.Length)], "behavior:recruitment"));
                var response = await client.Contributions.SubmitContributionsAsync(Batch([.. items]));
                if (b % 4 == 3)
                {
                    await client.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = response.Results[0].ContributionId });
                }
            }
        }

        async Task<List<string>> Read()
        {
            var seen = new List<string>();
            var cursor = string.Empty;
            var random = new Random();
            while (true)
            {
                var done = writing.IsCancellationRequested;
                var page = await readerClient.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor, PageSize = random.Next(1, 40) });
                seen.AddRange(page.Changes.Select(c => c.Cursor));
                cursor = page.NextCursor;
                if (done && !page.HasMore)
                {
                    return seen;
                }
            }
        }

        var readers = Enumerable.Range(0, Readers).Select(_ => Task.Run(Read)).ToList();
        await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(() => Write(w))));
        await writing.CancelAsync();
        var results = await Task.WhenAll(readers);

        var committed = await CommittedLogAsync(hub);
        Assert.That(committed, Has.Count.GreaterThan(Writers * BatchesPerWriter));
        foreach (var seen in results)
        {
            Assert.That(seen, Is.EqualTo(committed), "a reader must see every committed change once, in log order");
        }
        foreach (var w in writers)
        {
            w.Dispose();
        }
    }

    /// <summary>The whole log as the database holds it once every writer is done, as cursors.</summary>
    private static async Task<List<string>> CommittedLogAsync(HubFactory hub)
    {
        await using var scope = hub.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var epoch = scope.ServiceProvider.GetRequiredService<HashHub.Server.Sync.HubEpoch>().Value;
        var seqs = await db.Changes.OrderBy(c => c.Seq).Select(c => c.Seq).ToListAsync();
        return seqs.Select(s => new HashHub.Server.Sync.Cursor(epoch, s).Encode()).ToList();
    }
}
