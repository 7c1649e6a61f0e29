using System.Globalization;
using System.Net;
using System.Text.Json;
using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace HashHub.Client.Auth;

/// <summary>
/// Access tokens by the OAuth2 client credentials grant (RFC 6749 section 4.4), cached and renewed before they
/// expire: at 80 % of their lifetime, so a call never leaves with a token about to lapse in flight.
/// </summary>
internal sealed partial class TokenSource : IDisposable
{
    private const double RenewAt = 0.8;

    private readonly HttpClient _http;
    private readonly Uri _endpoint;
    private readonly bool _http2PriorKnowledge;
    private readonly string _clientId;
    private readonly string _clientSecret;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Token? _current;
    private int _requests;

    public TokenSource(HubClientOptions options, ILogger logger)
    {
        _endpoint = options.ResolvedTokenEndpoint;
        // The hub's cleartext gRPC port speaks only HTTP/2, which needs prior knowledge without TLS; over TLS ALPN
        // negotiates, and a separate HTTP/1.1 token port answers HTTP/1.1.
        _http2PriorKnowledge = _endpoint.Scheme == Uri.UriSchemeHttp
            && string.Equals(_endpoint.Authority, options.HubAddress!.Authority, StringComparison.OrdinalIgnoreCase);
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = options.Resilience.AttemptTimeout,
        };
        _clientId = options.ClientId;
        _clientSecret = options.ClientSecret;
        _time = options.TimeProvider;
        _logger = logger;
    }

    /// <summary>How many tokens were requested (tests).</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>A valid access token: the cached one, or a new one when it is near expiry or was invalidated.</summary>
    /// <exception cref="RpcException">Unauthenticated when the endpoint refuses the credentials; Unavailable when it cannot be reached.</exception>
    public async ValueTask<string> GetAsync(CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _current);
        if (current is not null && _time.GetUtcNow() < current.RenewAt)
        {
            return current.Value;
        }
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            current = _current;
            if (current is not null && _time.GetUtcNow() < current.RenewAt)
            {
                return current.Value;
            }
            var token = await RequestAsync(cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _current, token);
            return token.Value;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Drops <paramref name="token"/> (the hub said Unauthenticated), so the next call gets a fresh one.</summary>
    public void Invalidate(string token)
    {
        var current = Volatile.Read(ref _current);
        if (current is not null && current.Value == token)
        {
            Interlocked.CompareExchange(ref _current, null, current);
        }
    }

    private async Task<Token> RequestAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _requests);
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint)
        {
            // client_secret_post (RFC 6749 section 2.3.1): the hub accepts it, and it needs no encoding rules of its own.
            Content = new FormUrlEncodedContent(new Dictionary<string, string>
            {
                ["grant_type"] = "client_credentials",
                ["client_id"] = _clientId,
                ["client_secret"] = _clientSecret,
            }),
            Version = HttpVersion.Version20,
            VersionPolicy = _http2PriorKnowledge ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower,
        };
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, $"The token endpoint {_endpoint} cannot be reached: {e.Message}", e));
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.DeadlineExceeded, $"The token endpoint {_endpoint} did not answer in time.", e));
        }
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            string? accessToken = null, error = null, description = null;
            double? expiresIn = null;
            try
            {
                using var json = JsonDocument.Parse(body);
                var root = json.RootElement;
                accessToken = root.TryGetProperty("access_token", out var t) ? t.GetString() : null;
                expiresIn = root.TryGetProperty("expires_in", out var e) && e.TryGetDouble(out var seconds) ? seconds : null;
                error = root.TryGetProperty("error", out var er) ? er.GetString() : null;
                description = root.TryGetProperty("error_description", out var d) ? d.GetString() : null;
            }
            catch (JsonException)
            {
                // Not JSON: reported below with the HTTP status.
            }
            if (response.IsSuccessStatusCode && !string.IsNullOrEmpty(accessToken))
            {
                // Without expires_in (it is only RECOMMENDED by RFC 6749 section 5.1) assume five minutes.
                var lifetime = TimeSpan.FromSeconds(expiresIn is > 0 ? expiresIn.Value : 300);
                var now = _time.GetUtcNow();
                LogTokenAcquired(_logger, _clientId, lifetime.TotalSeconds);
                return new Token(accessToken, now + (lifetime * RenewAt));
            }
            var code = (int)response.StatusCode >= 500 || response.StatusCode == HttpStatusCode.TooManyRequests
                ? StatusCode.Unavailable
                : StatusCode.Unauthenticated;
            var message = string.Create(CultureInfo.InvariantCulture,
                $"The token endpoint refused client '{_clientId}': HTTP {(int)response.StatusCode} {error} {description}");
            throw new RpcException(new Status(code, message.TrimEnd()));
        }
    }

    public void Dispose()
    {
        _http.Dispose();
        _gate.Dispose();
    }

    private sealed record Token(string Value, DateTimeOffset RenewAt);

    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "Access token acquired for client {ClientId}, valid {Seconds} s")]
    private static partial void LogTokenAcquired(ILogger logger, string clientId, double seconds);
}
