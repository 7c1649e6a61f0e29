using System.Net.Http.Json;
using System.Text.Json.Serialization;

namespace HashHub.Server.Tests.Infrastructure;

/// <summary>The OAuth2 client-credentials request a member's program makes (RFC 6749 section 4.4).</summary>
internal static class TokenRequests
{
    /// <summary>Returns the access token, or throws with the endpoint's error and description.</summary>
    public static async Task<string> GetAccessTokenAsync(HttpClient http, Uri tokenEndpoint, string clientId, string clientSecret, string? scope = null)
    {
        var form = new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_secret"] = clientSecret,
        };
        if (scope is not null)
        {
            form["scope"] = scope;
        }
        using var response = await http.PostAsync(tokenEndpoint, new FormUrlEncodedContent(form));
        var body = await response.Content.ReadFromJsonAsync<TokenResponse>();
        if (!response.IsSuccessStatusCode || body?.AccessToken is null)
        {
            throw new InvalidOperationException($"Token request failed: {(int)response.StatusCode} {body?.Error} {body?.ErrorDescription}");
        }
        return body.AccessToken;
    }

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string? AccessToken,
        [property: JsonPropertyName("error")] string? Error,
        [property: JsonPropertyName("error_description")] string? ErrorDescription);
}
