using System.Globalization;
using Grpc.Core;
using Grpc.Core.Interceptors;
using HashHub.Client.Auth;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace HashHub.Client.Resilience;

/// <summary>
/// Every unary call to the hub goes through here: a bearer token on each attempt (renewed once when the hub answers
/// Unauthenticated), a deadline on each attempt, and a Polly pipeline of retry (jittered exponential backoff, or the
/// hub's <c>grpc-retry-pushback-ms</c>) around a circuit breaker.
/// </summary>
/// <remarks>
/// Resilience sits at the gRPC layer on purpose: an HTTP-level handler sees gRPC failures as HTTP 200 responses
/// (dotnet/extensions#4923). Streaming calls pass through; the live sync loop reconnects on its own.
/// </remarks>
internal sealed partial class HubCallInterceptor : Interceptor
{
    /// <summary>
    /// Methods that may be sent again after an attempt whose fate is unknown (Unavailable or DeadlineExceeded after
    /// the request left). Reads are safe; SubmitContributions carries an idempotency key, so the hub answers a resent
    /// batch with the first answer (ReportOutcomes likewise); retracting twice is a no-op; a relabel sets the complete
    /// label set.
    /// </summary>
    private static readonly HashSet<string> SafeToResend = new(StringComparer.Ordinal)
    {
        "/hashhub.v1.Sync/ReadChanges",
        "/hashhub.v1.Sync/GetLogHead",
        "/hashhub.v1.Contributions/GetSignal",
        "/hashhub.v1.Contributions/SubmitContributions",
        "/hashhub.v1.Contributions/RetractContribution",
        "/hashhub.v1.Contributions/UpdateContributionLabels",
        "/hashhub.v1.Taxonomy/ListLabels",
        "/hashhub.v1.Matching/Match",
        // Carries an idempotency key, like SubmitContributions.
        "/hashhub.v1.Matching/ReportOutcomes",
    };

    private readonly TokenSource _tokens;
    private readonly HubResilienceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _resendable;
    private readonly ResiliencePipeline _notResendable;

    public HubCallInterceptor(TokenSource tokens, HubResilienceOptions options, TimeProvider time, ILogger logger)
    {
        _tokens = tokens;
        _options = options;
        _time = time;
        _logger = logger;
        // One breaker shared by both pipelines: it describes the hub, not a method.
        var breaker = new CircuitBreakerStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<RpcException>(e =>
                e.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded or StatusCode.Internal),
            FailureRatio = options.CircuitBreakerFailureRatio,
            MinimumThroughput = options.CircuitBreakerMinimumThroughput,
            SamplingDuration = options.CircuitBreakerSamplingDuration,
            BreakDuration = options.CircuitBreakerBreakDuration,
            OnOpened = args =>
            {
                LogCircuitOpened(_logger, args.BreakDuration.TotalSeconds);
                return default;
            },
        };
        var stateProvider = new CircuitBreakerStateProvider();
        breaker.StateProvider = stateProvider;
        CircuitState = stateProvider;
        var sharedBreaker = new ResiliencePipelineBuilder { TimeProvider = time }.AddCircuitBreaker(breaker).Build();
        _resendable = Build(resendable: true, sharedBreaker);
        _notResendable = Build(resendable: false, sharedBreaker);
    }

    /// <summary>The breaker's state (tests and status output).</summary>
    public CircuitBreakerStateProvider CircuitState { get; }

    public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
    {
        var pipeline = SafeToResend.Contains(context.Method.FullName) ? _resendable : _notResendable;
        var attempts = new AttemptState<TResponse>();
        var response = ExecuteAsync(pipeline, request, context, continuation, attempts);
        return new AsyncUnaryCall<TResponse>(
            response,
            HeadersAsync(response, attempts),
            () => attempts.Last?.GetStatus() ?? new Status(StatusCode.Unknown, "no attempt was made"),
            () => attempts.Last?.GetTrailers() ?? [],
            () => attempts.Last?.Dispose());
    }

    private async Task<TResponse> ExecuteAsync<TRequest, TResponse>(
        ResiliencePipeline pipeline, TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation, AttemptState<TResponse> attempts)
        where TRequest : class
        where TResponse : class
    {
        try
        {
            return await pipeline.ExecuteAsync(
                async ct => await AttemptAsync(request, context, continuation, attempts, ct).ConfigureAwait(false),
                context.Options.CancellationToken).ConfigureAwait(false);
        }
        catch (BrokenCircuitException e)
        {
            // Callers handle one exception type; the breaker's own is the debug detail.
            throw new RpcException(new Status(StatusCode.Unavailable,
                "The hub failed repeatedly; the HashHub client's circuit breaker is open and calls fail at once until it closes.", e));
        }
    }

    /// <summary>One attempt: a token, a deadline, the call; on Unauthenticated one more try with a fresh token.</summary>
    private async Task<TResponse> AttemptAsync<TRequest, TResponse>(
        TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
        AsyncUnaryCallContinuation<TRequest, TResponse> continuation, AttemptState<TResponse> attempts, CancellationToken ct)
        where TRequest : class
        where TResponse : class
    {
        for (var renewed = false; ; renewed = true)
        {
            var token = await _tokens.GetAsync(ct).ConfigureAwait(false);
            var headers = new Metadata();
            foreach (var entry in context.Options.Headers ?? [])
            {
                headers.Add(entry);
            }
            headers.Add("authorization", "Bearer " + token);
            var deadline = _time.GetUtcNow().UtcDateTime + _options.AttemptTimeout;
            if (context.Options.Deadline is { } callerDeadline && callerDeadline < deadline)
            {
                deadline = callerDeadline;
            }
            var options = context.Options.WithHeaders(headers).WithDeadline(deadline).WithCancellationToken(ct);
            var call = continuation(request, new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, options));
            attempts.Replace(call);
            try
            {
                return await call.ResponseAsync.ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unauthenticated && !renewed)
            {
                // The token was revoked or its keys rotated before it expired: one fresh token, then give up.
                LogTokenRejected(_logger, context.Method.FullName);
                _tokens.Invalidate(token);
            }
        }
    }

    private static async Task<Metadata> HeadersAsync<TResponse>(Task<TResponse> response, AttemptState<TResponse> attempts)
    {
        try
        {
            await response.ConfigureAwait(false);
        }
        catch (Exception e) when (e is RpcException or OperationCanceledException)
        {
            // Headers of a failed call are still those of its last attempt.
        }
        return attempts.Last is { } last ? await last.ResponseHeadersAsync.ConfigureAwait(false) : [];
    }

    private ResiliencePipeline Build(bool resendable, ResiliencePipeline breaker)
    {
        var builder = new ResiliencePipelineBuilder { TimeProvider = _time };
        if (_options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                // ResourceExhausted from the rate limiter means the hub refused the call before running it, so even a
                // call that must not run twice may be sent again; after Unavailable or DeadlineExceeded it might have run.
                ShouldHandle = new PredicateBuilder().Handle<RpcException>(e => e.StatusCode switch
                {
                    StatusCode.ResourceExhausted => true,
                    StatusCode.Unavailable or StatusCode.DeadlineExceeded => resendable,
                    _ => false,
                }),
                MaxRetryAttempts = _options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.BaseDelay,
                MaxDelay = _options.MaxDelay,
                // gRPC's retry design (A6): a server's pushback replaces the client's own backoff for that attempt.
                DelayGenerator = args => new ValueTask<TimeSpan?>(Pushback(args.Outcome.Exception)),
                OnRetry = args =>
                {
                    var status = (args.Outcome.Exception as RpcException)?.StatusCode ?? StatusCode.Unknown;
                    LogRetry(_logger, args.AttemptNumber + 1, status, args.RetryDelay.TotalMilliseconds);
                    _options.OnRetry?.Invoke(args.AttemptNumber, status, args.RetryDelay);
                    return default;
                },
            });
        }
        return builder.AddPipeline(breaker).Build();
    }

    /// <summary>The hub's <c>grpc-retry-pushback-ms</c>, when it sent one (in the trailers of a trailers-only reply).</summary>
    internal static TimeSpan? Pushback(Exception? exception)
    {
        if (exception is not RpcException e)
        {
            return null;
        }
        var value = e.Trailers.GetValue("grpc-retry-pushback-ms");
        return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms >= 0
            ? TimeSpan.FromMilliseconds(ms)
            : null;
    }

    /// <summary>The last attempt's call, whose status, headers and trailers the caller sees.</summary>
    private sealed class AttemptState<TResponse>
    {
        private AsyncUnaryCall<TResponse>? _last;

        public AsyncUnaryCall<TResponse>? Last => Volatile.Read(ref _last);

        public void Replace(AsyncUnaryCall<TResponse> call) => Interlocked.Exchange(ref _last, call)?.Dispose();
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "Retry {Attempt} of a hub call after {Status}, in {DelayMs} ms")]
    private static partial void LogRetry(ILogger logger, int attempt, StatusCode status, double delayMs);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "The hub keeps failing; circuit opened for {Seconds} s")]
    private static partial void LogCircuitOpened(ILogger logger, double seconds);

    [LoggerMessage(EventId = 202, Level = LogLevel.Information, Message = "The hub rejected the access token on {Method}; requesting a new one")]
    private static partial void LogTokenRejected(ILogger logger, string method);
}
