using System.Security.Cryptography;
using System.Text.Json;
using HashHub.Server.Errors;
using Microsoft.IdentityModel.Tokens;

namespace HashHub.Server.Auth;

/// <summary>
/// The public keys of key clients (private_key_jwt, RFC 7523 section 2.2 and OpenID Connect Core section 9): a
/// member gives its public key, as PEM or as a JSON Web Key, and keeps the private key. Only ECDSA P-256 and
/// RSA of at least 2,048 bits are accepted; a key with private parts is refused, since the hub must never hold it.
/// </summary>
internal static class ClientKeys
{
    public const string SecretMethod = "client_secret";
    public const string PrivateKeyJwtMethod = "private_key_jwt";
    private const int MaxLength = 8192;

    /// <summary>The public key as a JSON Web Key for the client's key set, or a field violation on <paramref name="field"/>.</summary>
    public static JsonWebKey Parse(string text, string field)
    {
        text = text.Trim();
        if (text.Length > MaxLength)
        {
            throw new RequestValidationException(field, $"is {text.Length} characters long; the most is {MaxLength}");
        }
        var jwk = text.StartsWith('{') ? FromJwk(text, field) : FromPem(text, field);
        jwk.Use = JsonWebKeyUseNames.Sig;
        jwk.Kid = Convert.ToBase64String(jwk.ComputeJwkThumbprint()).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        return jwk;
    }

    private static JsonWebKey FromPem(string pem, string field)
    {
        if (pem.Contains("PRIVATE KEY", StringComparison.Ordinal))
        {
            throw new RequestValidationException(field, "is a private key: give the public key only and keep the private key to yourself");
        }
        if (!pem.Contains("-----BEGIN PUBLIC KEY-----", StringComparison.Ordinal))
        {
            throw new RequestValidationException(field, "must be a PEM \"PUBLIC KEY\" block or a JSON Web Key");
        }
        using (var ec = ECDsa.Create())
        {
            try
            {
                ec.ImportFromPem(pem);
                var parameters = ec.ExportParameters(includePrivateParameters: false);
                if (parameters.Curve.Oid.Value != ECCurve.NamedCurves.nistP256.Oid.Value)
                {
                    throw new RequestValidationException(field, "is an ECDSA key on another curve than P-256");
                }
                return JsonWebKeyConverter.ConvertFromECDsaSecurityKey(new ECDsaSecurityKey(ec));
            }
            catch (CryptographicException)
            {
                // Not an EC key: try RSA.
            }
        }
        using var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception ex) when (ex is CryptographicException or ArgumentException)
        {
            throw new RequestValidationException(field, "is not an ECDSA P-256 or RSA public key in PEM");
        }
        if (rsa.KeySize < 2048)
        {
            throw new RequestValidationException(field, $"is an RSA key of {rsa.KeySize} bits; at least 2,048 are required");
        }
        return JsonWebKeyConverter.ConvertFromRSASecurityKey(new RsaSecurityKey(rsa.ExportParameters(includePrivateParameters: false)));
    }

    private static JsonWebKey FromJwk(string json, string field)
    {
        JsonWebKey jwk;
        try
        {
            jwk = new JsonWebKey(json);
        }
        catch (Exception ex) when (ex is ArgumentException or JsonException)
        {
            throw new RequestValidationException(field, "is not a valid JSON Web Key");
        }
        if (!string.IsNullOrEmpty(jwk.D) || !string.IsNullOrEmpty(jwk.P) || !string.IsNullOrEmpty(jwk.K))
        {
            throw new RequestValidationException(field, "holds private or symmetric key material: give the public key only");
        }
        switch (jwk.Kty)
        {
            case JsonWebAlgorithmsKeyTypes.EllipticCurve when jwk.Crv == JsonWebKeyECTypes.P256 && !string.IsNullOrEmpty(jwk.X) && !string.IsNullOrEmpty(jwk.Y):
                return new JsonWebKey { Kty = jwk.Kty, Crv = jwk.Crv, X = jwk.X, Y = jwk.Y };
            case JsonWebAlgorithmsKeyTypes.RSA when !string.IsNullOrEmpty(jwk.N) && !string.IsNullOrEmpty(jwk.E):
                if (Base64UrlEncoder.DecodeBytes(jwk.N).Length * 8 < 2048)
                {
                    throw new RequestValidationException(field, "is an RSA key under 2,048 bits");
                }
                return new JsonWebKey { Kty = jwk.Kty, N = jwk.N, E = jwk.E };
            default:
                throw new RequestValidationException(field, "must be an EC key on P-256 or an RSA key");
        }
    }
}
