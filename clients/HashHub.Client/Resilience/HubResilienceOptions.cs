namespace HashHub.Client.Resilience;

/// <summary>
/// How the SDK rides out a hub that is briefly down, overloaded or rate limiting: retries with jittered exponential
/// backoff (or the hub's <c>grpc-retry-pushback-ms</c> hint), a circuit breaker, and a deadline on every attempt.
/// </summary>
public sealed class HubResilienceOptions
{
    /// <summary>Retries after the first attempt (0-10, default 4). Only Unavailable, DeadlineExceeded and ResourceExhausted are retried.</summary>
    public int MaxRetryAttempts { get; set; } = 4;

    /// <summary>The first backoff delay, doubled on each retry, with jitter (default 200 ms).</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest backoff delay (default 10 s). A pushback hint from the hub is honoured even when longer.</summary>
    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The deadline of each attempt of a unary call (default 30 s); the hub sees it and stops work past it.</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The share of failed attempts (Unavailable, DeadlineExceeded, Internal) in the sampling window that opens the circuit (default 0.5).</summary>
    public double CircuitBreakerFailureRatio { get; set; } = 0.5;

    /// <summary>The fewest attempts in the window before the circuit may open (default 10).</summary>
    public int CircuitBreakerMinimumThroughput { get; set; } = 10;

    /// <summary>The sampling window (default 30 s).</summary>
    public TimeSpan CircuitBreakerSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long the circuit stays open, failing calls at once with Unavailable, before one trial call (default 15 s).</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Test hook: each retry's attempt number (0-based, of the failed attempt), status and chosen delay.</summary>
    internal Action<int, Grpc.Core.StatusCode, TimeSpan>? OnRetry { get; set; }

    internal IEnumerable<string> Validate()
    {
        if (MaxRetryAttempts is < 0 or > 10)
        {
            yield return $"Resilience.MaxRetryAttempts must be 0-10 (is {MaxRetryAttempts})";
        }
        if (BaseDelay <= TimeSpan.Zero || MaxDelay < BaseDelay)
        {
            yield return "Resilience.BaseDelay must be positive and at most MaxDelay";
        }
        if (AttemptTimeout <= TimeSpan.Zero)
        {
            yield return "Resilience.AttemptTimeout must be positive";
        }
        if (CircuitBreakerFailureRatio is <= 0 or > 1)
        {
            yield return "Resilience.CircuitBreakerFailureRatio must be in (0, 1]";
        }
        if (CircuitBreakerMinimumThroughput < 2)
        {
            yield return "Resilience.CircuitBreakerMinimumThroughput must be at least 2";
        }
        if (CircuitBreakerSamplingDuration < TimeSpan.FromMilliseconds(500) || CircuitBreakerBreakDuration < TimeSpan.FromMilliseconds(500))
        {
            yield return "Resilience.CircuitBreakerSamplingDuration and BreakDuration must be at least 0.5 s (Polly's minimum)";
        }
    }
}
