using System.Diagnostics;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

/// <summary>Several hub nodes sharing one PostgreSQL database (SQLite is one process, so PostgreSQL only).</summary>
public sealed class MultiNodeTests
{
    [Test]
    public async Task Subscribe_OnAnotherNodeOfTheSameDatabase_IsWokenByTheCommitNotByItsPoll()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Storage:ConnectionString"] = await (await TestEnvironment.Postgres).CreateDatabaseAsync(),
            ["Hub:SubscriptionPollInterval"] = "00:05:00",
        };
        using var nodeA = await HubFactory.CreateAsync(StorageProvider.Postgres, settings);
        using var nodeB = await HubFactory.CreateAsync(StorageProvider.Postgres, settings);
        var member = await nodeA.AddMemberAsync("Gamma");
        using var writer = await nodeA.ConnectAsAsync(member);
        using var reader = await nodeB.ConnectAsAsync(member);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var call = reader.Sync.Subscribe(new Proto.SubscribeRequest { Cursor = (await reader.Sync.ReadChangesAsync(new Proto.ReadChangesRequest { PageSize = 5000 })).NextCursor }, cancellationToken: cts.Token);
        Assert.That(await call.ResponseStream.MoveNext(cts.Token), Is.True);
        Assert.That(call.ResponseStream.Current.EventCase, Is.EqualTo(Proto.SubscribeResponse.EventOneofCase.CaughtUp));

        var md5 = RandomMd5();
        var stopwatch = Stopwatch.StartNew();
        await writer.Contributions.SubmitContributionsAsync(Batch(Item(md5)));
        Assert.That(await call.ResponseStream.MoveNext(cts.Token), Is.True);

        Assert.That(call.ResponseStream.Current.Change.Signal.Signal.Value, Is.EqualTo(md5.Value));
        // Node B polls every five minutes here: only the PostgreSQL notification can have woken it this soon.
        Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromMinutes(1)));
        await cts.CancelAsync();
    }

    [Test]
    public async Task Index_OnTwoNodesOfOneDatabase_EachHoldsBothNodesSignals()
    {
        var random = new Random(20261130);
        var settings = new Dictionary<string, string?> { ["Storage:ConnectionString"] = await (await TestEnvironment.Postgres).CreateDatabaseAsync() };
        using var nodeA = await HubFactory.CreateAsync(StorageProvider.Postgres, settings);
        using var nodeB = await HubFactory.CreateAsync(StorageProvider.Postgres, settings);
        using var a = await nodeA.ConnectAsAsync(await nodeA.AddMemberAsync("Alpha"));
        using var b = await nodeB.ConnectAsAsync(await nodeA.AddMemberAsync("Beta"));

        // Interleaved, so that each node's posted runs have the other node's changes between them.
        for (var round = 0; round < 5; round++)
        {
            await a.Contributions.SubmitContributionsAsync(Batch(Item(RandomPdq(random)), Item(RandomMd5())));
            await b.Contributions.SubmitContributionsAsync(Batch(Item(RandomPdq(random)), Item(RandomMd5())));
        }
        var retracted = await b.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())));
        await b.Contributions.RetractContributionAsync(new Proto.RetractContributionRequest { ContributionId = retracted.Results[0].ContributionId });
        await a.Contributions.SubmitContributionsAsync(Batch(Item(RandomPdq(random))));

        await MatchIndexFeedTests.AssertIndexMatchesDatabaseAsync(nodeA);
        await MatchIndexFeedTests.AssertIndexMatchesDatabaseAsync(nodeB);
    }
}
