using Grpc.Core;
using HashHub.Client.Resilience;
using HashHub.Client.Tests.Infrastructure;
using HashHub.Protos.V1;
using static HashHub.Client.Tests.Infrastructure.FlakyHub;

namespace HashHub.Client.Tests.Resilience;

/// <summary>
/// The SDK's gRPC pipeline against a hub that fails on purpose: which failures are retried, how often, after which
/// delay, when the circuit opens, and that a call that must not run twice is not resent after an unknown outcome.
/// Delays are a millisecond, so nothing here depends on timing; attempts are counted at the server.
/// </summary>
public sealed class ResilienceTests
{
    private FlakyHub _hub = null!;
    private List<(int Attempt, StatusCode Status, TimeSpan Delay)> _retries = null!;

    [SetUp]
    public async Task StartHub()
    {
        _hub = await FlakyHub.StartAsync();
        _retries = [];
    }

    [TearDown]
    public async Task StopHub() => await _hub.DisposeAsync();

    [Test]
    public async Task ReadChanges_UnavailableTwice_SucceedsOnTheThirdAttempt()
    {
        await using var client = await OpenAsync();
        _hub.Script(Fail(StatusCode.Unavailable), Fail(StatusCode.Unavailable), Succeed());

        var response = await CallAsync(client, FlakyHub.ReadChanges);

        Assert.That(response.NextCursor, Is.EqualTo("done"));
        Assert.That(_hub.Attempts, Has.Count.EqualTo(3));
        Assert.That(_retries.Select(r => r.Status), Is.EqualTo(new[] { StatusCode.Unavailable, StatusCode.Unavailable }));
    }

    [Test]
    public async Task ReadChanges_ResourceExhaustedWithPushback_WaitsExactlyTheHint()
    {
        await using var client = await OpenAsync();
        _hub.Script(Fail(StatusCode.ResourceExhausted, pushbackMs: 37), Succeed());

        await CallAsync(client, FlakyHub.ReadChanges);

        Assert.That(_hub.Attempts, Has.Count.EqualTo(2));
        // The hint replaces the jittered backoff (a 1 ms base here), so the chosen delay is the hint itself.
        Assert.That(_retries.Single().Delay, Is.EqualTo(TimeSpan.FromMilliseconds(37)));
        Assert.That(_retries.Single().Status, Is.EqualTo(StatusCode.ResourceExhausted));
    }

    [Test]
    public async Task ReadChanges_AttemptPastItsDeadline_IsRetriedAndSucceeds()
    {
        await using var client = await OpenAsync(o => o.AttemptTimeout = TimeSpan.FromMilliseconds(300));
        _hub.Script(Stall(), Succeed());

        var response = await CallAsync(client, FlakyHub.ReadChanges);

        Assert.That(response.NextCursor, Is.EqualTo("done"));
        Assert.That(_hub.Attempts, Has.Count.EqualTo(2));
        Assert.That(_retries.Single().Status, Is.EqualTo(StatusCode.DeadlineExceeded));
    }

    [Test]
    public async Task ReadChanges_InvalidArgument_IsNotRetried()
    {
        await using var client = await OpenAsync();
        _hub.Script(Fail(StatusCode.InvalidArgument));

        var e = Assert.ThrowsAsync<RpcException>(() => CallAsync(client, FlakyHub.ReadChanges));

        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.InvalidArgument));
        Assert.That(_hub.Attempts, Has.Count.EqualTo(1));
        Assert.That(_retries, Is.Empty);
    }

    [Test]
    public async Task ReadChanges_AlwaysUnavailable_GivesUpAfterTheLastRetry()
    {
        await using var client = await OpenAsync(o => o.MaxRetryAttempts = 3);
        _hub.Script(Enumerable.Repeat(Fail(StatusCode.Unavailable), 10).ToArray());

        var e = Assert.ThrowsAsync<RpcException>(() => CallAsync(client, FlakyHub.ReadChanges));

        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(_hub.Attempts, Has.Count.EqualTo(4));
    }

    [Test]
    public async Task NotIdempotentMethod_Unavailable_IsNotResent()
    {
        await using var client = await OpenAsync();
        _hub.Script(Fail(StatusCode.Unavailable), Succeed());

        var e = Assert.ThrowsAsync<RpcException>(() => CallAsync(client, FlakyHub.NotIdempotent));

        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(_hub.Attempts, Has.Count.EqualTo(1));
    }

    [Test]
    public async Task NotIdempotentMethod_ResourceExhausted_IsResentSinceTheHubDidNotRunIt()
    {
        await using var client = await OpenAsync();
        _hub.Script(Fail(StatusCode.ResourceExhausted, pushbackMs: 1), Succeed());

        var response = await CallAsync(client, FlakyHub.NotIdempotent);

        Assert.That(response.NextCursor, Is.EqualTo("done"));
        Assert.That(_hub.Attempts, Has.Count.EqualTo(2));
    }

    [Test]
    public async Task CircuitBreaker_AfterRepeatedFailures_FailsFastWithoutCallingTheHub()
    {
        await using var client = await OpenAsync(o =>
        {
            o.MaxRetryAttempts = 0;
            o.CircuitBreakerMinimumThroughput = 4;
            o.CircuitBreakerFailureRatio = 0.5;
            o.CircuitBreakerBreakDuration = TimeSpan.FromMinutes(5);
        });
        _hub.Script(Enumerable.Repeat(Fail(StatusCode.Unavailable), 4).ToArray());
        for (var i = 0; i < 4; i++)
        {
            Assert.ThrowsAsync<RpcException>(() => CallAsync(client, FlakyHub.ReadChanges));
        }
        Assert.That(_hub.Attempts, Has.Count.EqualTo(4));

        var e = Assert.ThrowsAsync<RpcException>(() => CallAsync(client, FlakyHub.ReadChanges));

        Assert.That(e!.StatusCode, Is.EqualTo(StatusCode.Unavailable));
        Assert.That(e.Status.Detail, Does.Contain("circuit breaker is open"));
        Assert.That(_hub.Attempts, Has.Count.EqualTo(4), "the open circuit must not call the hub");
    }

    [Test]
    public async Task CircuitBreaker_ResourceExhausted_DoesNotOpenIt()
    {
        await using var client = await OpenAsync(o =>
        {
            o.MaxRetryAttempts = 0;
            o.CircuitBreakerMinimumThroughput = 2;
        });
        _hub.Script(Enumerable.Repeat(Fail(StatusCode.ResourceExhausted), 4).ToArray());
        for (var i = 0; i < 4; i++)
        {
            Assert.ThrowsAsync<RpcException>(() => CallAsync(client, FlakyHub.ReadChanges));
        }

        await CallAsync(client, FlakyHub.ReadChanges);

        Assert.That(_hub.Attempts, Has.Count.EqualTo(5));
    }

    private async Task<HashHubClient> OpenAsync(Action<HubResilienceOptions>? configure = null)
    {
        var resilience = new HubResilienceOptions
        {
            BaseDelay = TimeSpan.FromMilliseconds(1),
            MaxDelay = TimeSpan.FromMilliseconds(5),
            OnRetry = (attempt, status, delay) => { lock (_retries) { _retries.Add((attempt, status, delay)); } },
        };
        configure?.Invoke(resilience);
        return await HashHubClient.OpenAsync(new HubClientOptions
        {
            HubAddress = _hub.Address,
            ClientId = "flaky-test",
            ClientSecret = "secret",
            Resilience = resilience,
        });
    }

    internal static async Task<ReadChangesResponse> CallAsync(HashHubClient client, Method<ReadChangesRequest, ReadChangesResponse> method) =>
        await client.Invoker.AsyncUnaryCall(method, null, new CallOptions(), new ReadChangesRequest());
}
