using Grpc.Core;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.EndToEnd;

/// <summary>
/// DESIGN.md invariant 4 with a real process: every batch the hub acknowledged survives kill -9 and appears in
/// the log after a restart; a batch cut off by the crash is there whole or not at all.
/// </summary>
[TestFixture(StorageProvider.Sqlite)]
[TestFixture(StorageProvider.Postgres)]
public sealed class CrashTests(StorageProvider provider)
{
    [Test]
    public async Task KillDashNine_DuringSubmissions_KeepsEveryAcknowledgedBatchWhole()
    {
        var data = Path.Combine(Path.GetTempPath(), "hashhub-crash-" + Guid.NewGuid().ToString("N")[..8]);
        var settings = new List<string> { $"--Storage:Provider={provider}", $"--Storage:DataDirectory={data}", "--RateLimits:Enabled=false" };
        if (provider == StorageProvider.Postgres)
        {
            settings.Add($"--Storage:ConnectionString={await (await TestEnvironment.Postgres).CreateDatabaseAsync()}");
        }
        using var hub = new HubProcess(settings);
        try
        {
            var printed = await hub.RunCommandAsync("admin", "add-member", "Crash Test Platform");
            var fields = printed.Split('\n').Where(l => l.Contains(':', StringComparison.Ordinal))
                .Select(l => l.Split(':', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim());
            await hub.StartAsync();
            var token = await hub.GetTokenAsync(fields["client_id"], fields["client_secret"]);
            var headers = new Metadata { { "authorization", "Bearer " + token } };

            var sent = new List<Proto.SubmitContributionsRequest>();
            var acknowledged = new List<Proto.SubmitContributionsRequest>();
            using (var channel = hub.Channel())
            {
                var client = new Proto.Contributions.ContributionsClient(channel);
                var random = new Random(4);
                var writers = Enumerable.Range(0, 3).Select(w => Task.Run(async () =>
                {
                    for (var b = 0; b < 200; b++)
                    {
                        var batch = Batch(Enumerable.Range(0, 50).Select(_ => Item(RandomMd5())).ToArray());
                        lock (sent)
                        {
                            sent.Add(batch);
                        }
                        try
                        {
                            await client.SubmitContributionsAsync(batch, headers);
                            lock (acknowledged)
                            {
                                acknowledged.Add(batch);
                            }
                        }
                        catch (RpcException)
                        {
                            return; // the hub is gone
                        }
                    }
                })).ToList();
                while (acknowledged.Count < 20)
                {
                    await Task.Delay(20);
                }
                hub.Kill();
                await Task.WhenAll(writers);
            }

            await hub.StartAsync();
            token = await hub.GetTokenAsync(fields["client_id"], fields["client_secret"]);
            headers = new Metadata { { "authorization", "Bearer " + token } };
            using var again = hub.Channel();
            var sync = new Proto.Sync.SyncClient(again);
            var values = new HashSet<string>();
            var cursor = string.Empty;
            while (true)
            {
                var page = await sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor, PageSize = 5000 }, headers);
                values.UnionWith(page.Changes.Select(c => c.Signal.Signal.Value));
                cursor = page.NextCursor;
                if (!page.HasMore)
                {
                    break;
                }
            }

            Assert.That(acknowledged, Has.Count.GreaterThanOrEqualTo(20));
            foreach (var batch in acknowledged)
            {
                Assert.That(batch.Items.All(i => values.Contains(i.Signal.Value)), Is.True, "an acknowledged batch survives kill -9");
            }
            foreach (var batch in sent)
            {
                var present = batch.Items.Count(i => values.Contains(i.Signal.Value));
                Assert.That(present, Is.EqualTo(0).Or.EqualTo(batch.Items.Count), "a batch is all or nothing");
            }
            Assert.That(values, Has.Count.EqualTo(sent.Count(b => values.Contains(b.Items[0].Signal.Value)) * 50));
        }
        finally
        {
            hub.Kill();
            try
            {
                Directory.Delete(data, recursive: true);
            }
            catch (DirectoryNotFoundException)
            {
            }
        }
    }
}
