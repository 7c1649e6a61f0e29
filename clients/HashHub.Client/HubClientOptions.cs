using HashHub.Client.Matching;
using HashHub.Client.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace HashHub.Client;

/// <summary>How a member's program reaches its hub and where it keeps its copy of the list.</summary>
/// <example>
/// <code>
/// var options = new HubClientOptions
/// {
///     HubAddress = new Uri("http://127.0.0.1:5000"),
///     ClientId = "hh_...",
///     ClientSecret = Environment.GetEnvironmentVariable("HASHHUB_SECRET")!,
///     StorePath = "/var/lib/myplatform/hashhub.db",
/// };
/// </code>
/// </example>
public sealed class HubClientOptions
{
    /// <summary>The hub's gRPC address, for example <c>https://hub.example.org</c> (required).</summary>
    public Uri? HubAddress { get; set; }

    /// <summary>
    /// The OAuth2 token endpoint. Default: <c>/connect/token</c> on <see cref="HubAddress"/>. On a cleartext
    /// (<c>http</c>) hub address the request is sent as HTTP/2 with prior knowledge, since the hub's gRPC port speaks
    /// only HTTP/2 there; point this at the hub's HTTP/1.1 port to use that instead.
    /// </summary>
    public Uri? TokenEndpoint { get; set; }

    /// <summary>The client id of one of the member's credentials, as the hub printed it (required).</summary>
    public string ClientId { get; set; } = string.Empty;

    /// <summary>The credential's secret (required). Keep it out of source control.</summary>
    public string ClientSecret { get; set; } = string.Empty;

    /// <summary>
    /// The local store: a SQLite file the member owns, created when missing. It holds the synced signals and the
    /// sync cursor. Required for <see cref="HashHubClient.SyncAsync(CancellationToken)"/>, live sync and local matching; a client
    /// without a store can still contribute, retract and relabel.
    /// </summary>
    public string? StorePath { get; set; }

    /// <summary>PDQ match radius (Hamming distance, inclusive): 0-63, default 31 (the hub's default).</summary>
    public int PdqMatchRadius { get; set; } = 31;

    /// <summary>
    /// Match on the hub (its <c>Matching/Match</c> RPC) instead of against a local index: for small members that do
    /// not keep the list. Content is still hashed locally; only the hashes are sent. Default false. Hub-side matching
    /// is rate limited by the hub (20 calls a second by default); a member with more traffic syncs and matches locally.
    /// </summary>
    public bool MatchOnHub { get; set; }

    /// <summary>The member's policy that turns matches into actions. Default <see cref="MatchPolicy.Default"/>.</summary>
    public MatchPolicy Policy { get; set; } = MatchPolicy.Default;

    /// <summary>Retries, circuit breaker and per-call deadlines of the gRPC calls.</summary>
    public HubResilienceOptions Resilience { get; set; } = new();

    /// <summary>Changes read per <c>ReadChanges</c> page (1-5,000; default 1,000). Each page is one store transaction.</summary>
    public int SyncPageSize { get; set; } = 1_000;

    /// <summary>
    /// Whether a store with no cursor (a first sync, or a resync) starts from the hub's snapshot of every signal and then
    /// reads the changes after it (default true), instead of reading the hub's whole change log from the start. Both end
    /// with the same copy; the snapshot carries each signal once and no tombstones, so it is much less to read.
    /// </summary>
    public bool BootstrapFromSnapshot { get; set; } = true;

    /// <summary>The clock (tests pass a fake one). Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the SDK logs (token refreshes, retries, reconnects, resyncs). Default: nowhere.</summary>
    public ILoggerFactory LoggerFactory { get; set; } = NullLoggerFactory.Instance;

    /// <summary>Checks every setting and throws one <see cref="ArgumentException"/> listing all that are wrong.</summary>
    public void Validate()
    {
        var errors = new List<string>();
        if (HubAddress is null)
        {
            errors.Add("HubAddress is required");
        }
        else if (!HubAddress.IsAbsoluteUri || (HubAddress.Scheme != Uri.UriSchemeHttp && HubAddress.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"HubAddress must be an absolute http or https URI (is '{HubAddress}')");
        }
        if (TokenEndpoint is not null && (!TokenEndpoint.IsAbsoluteUri || (TokenEndpoint.Scheme != Uri.UriSchemeHttp && TokenEndpoint.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"TokenEndpoint must be an absolute http or https URI (is '{TokenEndpoint}')");
        }
        if (string.IsNullOrWhiteSpace(ClientId))
        {
            errors.Add("ClientId is required");
        }
        if (string.IsNullOrEmpty(ClientSecret))
        {
            errors.Add("ClientSecret is required");
        }
        if (StorePath is not null && string.IsNullOrWhiteSpace(StorePath))
        {
            errors.Add("StorePath must be a file path or null");
        }
        if (PdqMatchRadius is < 0 or > 63)
        {
            errors.Add($"PdqMatchRadius must be 0-63 (is {PdqMatchRadius})");
        }
        if (SyncPageSize is < 1 or > 5_000)
        {
            errors.Add($"SyncPageSize must be 1-5000 (is {SyncPageSize})");
        }
        if (Policy is null)
        {
            errors.Add("Policy is required");
        }
        if (TimeProvider is null)
        {
            errors.Add("TimeProvider is required");
        }
        if (LoggerFactory is null)
        {
            errors.Add("LoggerFactory is required");
        }
        if (Resilience is null)
        {
            errors.Add("Resilience is required");
        }
        else
        {
            errors.AddRange(Resilience.Validate());
        }
        if (errors.Count > 0)
        {
            throw new ArgumentException("Invalid HashHub client options: " + string.Join("; ", errors) + ".");
        }
    }

    /// <summary>The token endpoint actually used.</summary>
    internal Uri ResolvedTokenEndpoint => TokenEndpoint ?? new Uri(HubAddress!, "/connect/token");
}
