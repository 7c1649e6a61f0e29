using Grpc.Core;
using HashHub.Client.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace HashHub.Client.Tests.Resilience;

/// <summary>Client-credentials tokens: cached, renewed before expiry on the SDK's clock, renewed once when the hub rejects one.</summary>
public sealed class TokenTests
{
    private FlakyHub _hub = null!;

    [SetUp]
    public async Task StartHub() => _hub = await FlakyHub.StartAsync();

    [TearDown]
    public async Task StopHub() => await _hub.DisposeAsync();

    [Test]
    public async Task Calls_WithinTheTokenLifetime_ReuseOneToken()
    {
        await using var client = await OpenAsync(TimeProvider.System);

        for (var i = 0; i < 3; i++)
        {
            await ResilienceTests.CallAsync(client, FlakyHub.ReadChanges);
        }

        Assert.That(_hub.TokensIssued, Is.EqualTo(1));
        Assert.That(_hub.Attempts.Distinct(), Is.EqualTo(new[] { "Bearer token-1" }));
    }

    [Test]
    public async Task Calls_NearTokenExpiry_RenewTheTokenBeforeItLapses()
    {
        _hub.TokenLifetimeSeconds = 100;
        // Deadlines are wall-clock dates, so the fake clock starts now.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var client = await OpenAsync(time);
        await ResilienceTests.CallAsync(client, FlakyHub.ReadChanges);

        time.Advance(TimeSpan.FromSeconds(79));
        await ResilienceTests.CallAsync(client, FlakyHub.ReadChanges);
        Assert.That(_hub.TokensIssued, Is.EqualTo(1), "still well within the lifetime");

        time.Advance(TimeSpan.FromSeconds(2));
        await ResilienceTests.CallAsync(client, FlakyHub.ReadChanges);

        Assert.That(_hub.TokensIssued, Is.EqualTo(2), "renewed at 80 % of the lifetime, before it expired");
        Assert.That(_hub.Attempts.Last(), Is.EqualTo("Bearer token-2"));
    }

    [Test]
    public async Task Call_TokenRejectedOnce_RenewsTheTokenAndSucceeds()
    {
        await using var client = await OpenAsync(TimeProvider.System);
        _hub.RejectedTokens["token-1"] = true;

        var response = await ResilienceTests.CallAsync(client, FlakyHub.ReadChanges);

        Assert.That(response.NextCursor, Is.EqualTo("done"));
        Assert.That(_hub.Attempts, Is.EqualTo(new[] { "Bearer token-1", "Bearer token-2" }));
    }

    [Test]
    public async Task Call_NewTokenRejectedToo_FailsUnauthenticatedAfterOneRenewal()
    {
        await using var client = await OpenAsync(TimeProvider.System);
        _hub.RejectedTokens["token-1"] = true;
        _hub.RejectedTokens["token-2"] = true;

        var e = Assert.ThrowsAsync<RpcException>(() => ResilienceTests.CallAsync(client, FlakyHub.ReadChanges));

        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Unauthenticated));
        Assert.That(_hub.TokensIssued, Is.EqualTo(2));
    }

    private async Task<HashHubClient> OpenAsync(TimeProvider time) => await HashHubClient.OpenAsync(new HubClientOptions
    {
        HubAddress = _hub.Address,
        ClientId = "flaky-test",
        ClientSecret = "secret",
        TimeProvider = time,
    });
}
