using System.Globalization;
using System.Threading.RateLimiting;
using Grpc.AspNetCore.Server;
using HashHub.Server.Auth;
using HashHub.Server.Membership;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace HashHub.Server.RateLimiting;

/// <summary>
/// Rate limits with ASP.NET Core's rate limiter: one token bucket per (member, method). A call over the limit is
/// answered as gRPC <c>ResourceExhausted</c> (not HTTP 429, which gRPC clients would read as Unavailable), with
/// the standard <c>grpc-retry-pushback-ms</c> header and <c>retry-after</c> telling the client when to retry.
/// </summary>
internal static class RateLimitingExtensions
{
    public static WebApplicationBuilder AddHashHubRateLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().Bind(builder.Configuration.GetSection(RateLimitOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddRateLimiter(o =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var options = http.RequestServices.GetRequiredService<IOptionsMonitor<RateLimitOptions>>().CurrentValue;
                if (!options.Enabled)
                {
                    return RateLimitPartition.GetNoLimiter("off");
                }
                var method = MethodOf(http);
                if (method is null)
                {
                    return RateLimitPartition.GetNoLimiter("unlimited");
                }
                var caller = http.User.FindFirst(Caller.MemberIdClaim)?.Value
                    ?? "ip:" + http.Connection.RemoteIpAddress;
                var limit = options.For(method);
                return RateLimitPartition.GetTokenBucketLimiter($"{caller}|{method}", _ => new TokenBucketRateLimiterOptions
                {
                    TokenLimit = limit.Burst,
                    TokensPerPeriod = Math.Max(1, (int)Math.Round(limit.PerSecond)),
                    ReplenishmentPeriod = limit.PerSecond >= 1 ? TimeSpan.FromSeconds(1) : TimeSpan.FromSeconds(1 / limit.PerSecond),
                    QueueLimit = 0,
                    AutoReplenishment = true,
                });
            });
            o.OnRejected = async (context, cancellationToken) =>
            {
                var retryAfter = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
                var response = context.HttpContext.Response;
                var ms = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalMilliseconds));
                response.Headers.RetryAfter = Math.Max(1, (long)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                if (context.HttpContext.Request.ContentType?.StartsWith("application/grpc", StringComparison.Ordinal) == true)
                {
                    // A trailers-only gRPC response: status in the headers, no body.
                    response.StatusCode = StatusCodes.Status200OK;
                    response.ContentType = "application/grpc";
                    response.Headers["grpc-status"] = "8"; // RESOURCE_EXHAUSTED
                    response.Headers["grpc-message"] = Uri.EscapeDataString($"rate limit of {MethodOf(context.HttpContext)} exceeded for this member; retry in {ms} ms");
                    response.Headers["grpc-retry-pushback-ms"] = ms.ToString(CultureInfo.InvariantCulture);
                    return;
                }
                response.StatusCode = StatusCodes.Status429TooManyRequests;
                await response.WriteAsync($"rate limit exceeded; retry in {ms} ms", cancellationToken);
            };
        });
        return builder;
    }

    /// <summary>
    /// The limited method of a request: the gRPC method's short name (for calls over gRPC and for the same methods
    /// transcoded to JSON over HTTP, which share the endpoint's gRPC metadata), "token", a console form, or null.
    /// </summary>
    private static string? MethodOf(HttpContext http)
    {
        if (http.Request.Path.Value?.Equals(TokenEndpoint.Path, StringComparison.OrdinalIgnoreCase) == true)
        {
            return "token";
        }
        // The console's public forms, per client address: applying counts as the Apply RPC does, and sign-in
        // attempts are limited on top of the per-user lockout.
        var path = http.Request.Path.Value ?? string.Empty;
        if (HttpMethods.IsPost(http.Request.Method) && path.StartsWith("/console/", StringComparison.OrdinalIgnoreCase))
        {
            if (path.Equals("/console/apply", StringComparison.OrdinalIgnoreCase))
            {
                return "Apply";
            }
            if (path.Equals("/console/signin", StringComparison.OrdinalIgnoreCase) || path.Equals("/console/twofactor", StringComparison.OrdinalIgnoreCase))
            {
                return "console-signin";
            }
        }
        // Health and reflection are not limited: only the hub's own services.
        var grpc = http.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>();
        return grpc is not null && grpc.Method.ServiceName.StartsWith("hashhub.", StringComparison.Ordinal) ? grpc.Method.Name : null;
    }
}
