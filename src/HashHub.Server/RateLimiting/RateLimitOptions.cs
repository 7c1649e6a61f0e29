using System.ComponentModel.DataAnnotations;

namespace HashHub.Server.RateLimiting;

/// <summary>
/// The <c>RateLimits</c> configuration section: a token bucket per member and per gRPC method (or per client
/// address for calls without a member, such as the token endpoint). Each limit is the sustained rate per second
/// and the burst a caller may spend at once.
/// </summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    /// <summary>Turns the limits off (default on).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The limit of any method not named in <see cref="Methods"/>: 50 calls a second, bursts of 100.</summary>
    [Required]
    public RateLimit Default { get; set; } = new() { PerSecond = 50, Burst = 100 };

    /// <summary>
    /// Limits by method, keyed by the gRPC method's short name (for example <c>SubmitContributions</c>) or by
    /// <c>token</c> for the OAuth2 token endpoint. Defaults: SubmitContributions 20/s (a batch holds up to
    /// 10,000 signals), Match 20/s (bursts of 50), token 5/s per client address, Apply (the RPC and the console's apply
    /// form) 5 at once then one per 10 minutes per address, console-signin 1/s with bursts of 20 per address,
    /// ReadSnapshot 10 at once then one per 10 seconds.
    /// </summary>
    public Dictionary<string, RateLimit> Methods { get; set; } = new(StringComparer.Ordinal)
    {
        ["SubmitContributions"] = new() { PerSecond = 20, Burst = 40 },
        // Hub-side match: one call per upload of a small member; members with more traffic keep a local index.
        ["Match"] = new() { PerSecond = 20, Burst = 50 },
        ["token"] = new() { PerSecond = 5, Burst = 20 },
        // Anonymous, per client address: a few applications an hour is plenty for a real organisation.
        ["Apply"] = new() { PerSecond = 1.0 / 600, Burst = 5 },
        // The console's sign-in forms (password, code, recovery code), per client address.
        ["console-signin"] = new() { PerSecond = 1, Burst = 20 },
        // A whole snapshot is a bootstrap: a member needs one per new store or resync, not one a second.
        ["ReadSnapshot"] = new() { PerSecond = 0.1, Burst = 10 },
    };

    internal RateLimit For(string method) => Methods.GetValueOrDefault(method) ?? Default;
}

public sealed class RateLimit
{
    /// <summary>Calls a second, sustained.</summary>
    [Range(0.001, 1_000_000)]
    public double PerSecond { get; set; }

    /// <summary>Calls that may be made at once after a quiet spell.</summary>
    [Range(1, 1_000_000)]
    public int Burst { get; set; }
}
