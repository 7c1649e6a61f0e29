using System.Net.Http.Json;
using System.Security.Claims;
using System.Security.Cryptography;
using System.Text.Json.Serialization;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HashHub.Server.Tests.Infrastructure;

/// <summary>
/// What a key client does (private_key_jwt, RFC 7523 section 2.2): signs a short-lived JWT about itself with its
/// private key and sends it to the token endpoint instead of a secret.
/// </summary>
internal static class ClientAssertions
{
    public const string AssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

    /// <summary>
    /// The hub's issuer (the default Auth:Issuer): the one audience accepted, as RFC 7523bis asks. The token
    /// endpoint's URL is refused (OpenIddict 7.7 dropped it after the audience-injection attack on assertions).
    /// </summary>
    public const string Issuer = "https://hashhub.local/";
    public const string TokenEndpoint = "http://localhost/connect/token";

    public static string Create(string clientId, SecurityKey key, string audience = Issuer, DateTime? expires = null, string? jti = null)
    {
        var now = DateTime.UtcNow;
        var exp = expires ?? now.AddMinutes(2);
        var algorithm = key is ECDsaSecurityKey ? SecurityAlgorithms.EcdsaSha256 : SecurityAlgorithms.RsaSha256;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = clientId,
            Subject = new ClaimsIdentity([new Claim("sub", clientId), new Claim("jti", jti ?? Guid.NewGuid().ToString("N"))]),
            Audience = audience,
            IssuedAt = exp < now ? exp.AddMinutes(-5) : now,
            NotBefore = exp < now ? exp.AddMinutes(-5) : now,
            Expires = exp,
            SigningCredentials = new SigningCredentials(key, algorithm),
            TokenType = "client-authentication+jwt",
        });
    }

    public static string PublicKeyPem(AsymmetricAlgorithm key) => key.ExportSubjectPublicKeyInfoPem();

    /// <summary>Posts the assertion; returns the access token, or the endpoint's error code.</summary>
    public static async Task<(string? AccessToken, string? Error)> RequestTokenAsync(HttpClient http, string clientId, string assertion)
    {
        using var response = await http.PostAsync(new Uri(http.BaseAddress!, "/connect/token"), new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = clientId,
            ["client_assertion_type"] = AssertionType,
            ["client_assertion"] = assertion,
        }));
        var body = await response.Content.ReadFromJsonAsync<TokenResponse>();
        return (response.IsSuccessStatusCode ? body?.AccessToken : null, body?.Error);
    }

    private sealed record TokenResponse(
        [property: JsonPropertyName("access_token")] string? AccessToken,
        [property: JsonPropertyName("error")] string? Error,
        [property: JsonPropertyName("error_description")] string? ErrorDescription);
}
