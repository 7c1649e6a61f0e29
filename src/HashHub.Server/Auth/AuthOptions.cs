namespace HashHub.Server.Auth;

/// <summary>The <c>Auth</c> configuration section.</summary>
public sealed class AuthOptions
{
    public const string Section = "Auth";

    /// <summary>
    /// The issuer written into access tokens. Every node of one hub must use the same value (and the same keys),
    /// since tokens are checked against it whatever address the client used. Default <c>https://hashhub.local/</c>.
    /// </summary>
    public Uri Issuer { get; set; } = new("https://hashhub.local/");

    /// <summary>
    /// Folder of the token signing and encryption keys, created on first start. Default: <c>keys</c> under the
    /// storage data directory. Nodes of one hub share it.
    /// </summary>
    public string? KeyDirectory { get; set; }

    /// <summary>Lifetime of access tokens (default 10 minutes): short, so credential changes take hold quickly.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);
}
