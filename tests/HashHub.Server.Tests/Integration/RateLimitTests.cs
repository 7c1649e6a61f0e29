using Grpc.Core;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Proto = HashHub.Protos.V1;
using static HashHub.Server.Tests.Infrastructure.TestSignals;

namespace HashHub.Server.Tests.Integration;

public sealed class RateLimitTests
{
    [Test]
    public async Task OverTheLimit_IsResourceExhaustedWithRetryHint_PerMemberAndPerMethod()
    {
        using var hub = await HubFactory.CreateAsync(StorageProvider.Sqlite, new Dictionary<string, string?>
        {
            ["RateLimits:Enabled"] = "true",
            ["RateLimits:Default:PerSecond"] = "0.1",
            ["RateLimits:Default:Burst"] = "3",
            ["RateLimits:Methods:token:PerSecond"] = "100",
            ["RateLimits:Methods:token:Burst"] = "100",
        });
        using var alpha = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
        using var beta = await hub.ConnectAsAsync(await hub.AddMemberAsync("Beta"));
        for (var i = 0; i < 3; i++)
        {
            await alpha.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        }

        var ex = Assert.ThrowsAsync<RpcException>(async () => await alpha.Sync.ReadChangesAsync(new Proto.ReadChangesRequest()));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        Assert.That(ex.Status.Detail, Does.Contain("ReadChanges"));
        var pushback = ex.Trailers.GetValue("grpc-retry-pushback-ms");
        Assert.That(long.Parse(pushback!, System.Globalization.CultureInfo.InvariantCulture), Is.GreaterThan(0));
        // Another member has its own bucket, and so has another method of the same member.
        await beta.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
        await alpha.Taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest());
        // A rejected call changed nothing: the batch can be sent again once the bucket refills.
        Assert.That((await alpha.Contributions.SubmitContributionsAsync(Batch(Item(RandomMd5())))).Results, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task ReadSnapshot_ByDefault_TenAtOnceThenLimited()
    {
        using var hub = await HubFactory.CreateAsync(StorageProvider.Sqlite, new Dictionary<string, string?> { ["RateLimits:Enabled"] = "true" });
        using var alpha = await hub.ConnectAsAsync(await hub.AddMemberAsync("Alpha"));
        for (var i = 0; i < 10; i++)
        {
            await SnapshotTests.ReadSnapshotAsync(alpha);
        }

        var ex = Assert.ThrowsAsync<RpcException>(() => SnapshotTests.ReadSnapshotAsync(alpha));

        Assert.That(ex!.StatusCode, Is.EqualTo(StatusCode.ResourceExhausted));
        Assert.That(ex.Status.Detail, Does.Contain("ReadSnapshot"));
        // Other reads keep their own, larger allowance.
        await alpha.Sync.ReadChangesAsync(new Proto.ReadChangesRequest());
    }
}
