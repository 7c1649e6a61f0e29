using System.Text;

namespace HashHub.Core.Signals;

/// <summary>
/// A URL where terrorist or violent extremist content is hosted, matched exactly after normalisation, so that the same
/// location written two ways is one signal: scheme and host lower-case (an international host in its punycode form),
/// the scheme's default port removed, an empty path written <c>/</c>, the fragment dropped, and click-tracking query
/// parameters (<c>utm_*</c>, <c>fbclid</c>, <c>gclid</c> and the like) removed. Other parameters keep their order,
/// since a site may read them positionally.
/// </summary>
public sealed class UrlSignalType : SignalType
{
    /// <summary>The longest URL accepted, in characters (after trimming surrounding whitespace).</summary>
    public const int MaxLength = 2048;

    // Parameters that only say where a click came from; they never change what the URL points at.
    private static readonly HashSet<string> TrackingParameters = new(StringComparer.OrdinalIgnoreCase)
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid", "li_fat_id",
        "igshid", "mc_cid", "mc_eid", "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "oly_anon_id", "oly_enc_id", "vero_id",
    };

    internal UrlSignalType()
    {
    }

    /// <inheritdoc />
    public override string Name => "url";

    /// <inheritdoc />
    public override bool TryNormalize(string value, out string normalized, out string error)
    {
        normalized = string.Empty;
        var text = value?.Trim() ?? string.Empty;
        if (text.Length == 0)
        {
            error = "must be an absolute http or https URL, got an empty value";
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = $"must be at most {MaxLength} characters, got {text.Length}";
            return false;
        }
        if (!Uri.TryCreate(text, UriKind.Absolute, out var uri) || uri.IsFile || uri.IsUnc)
        {
            error = $"must be an absolute URL such as https://example.com/page, got '{Shorten(text)}'";
            return false;
        }
        if (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
        {
            error = $"scheme must be http or https, got '{uri.Scheme}'";
            return false;
        }
        if (uri.UserInfo.Length > 0)
        {
            error = "must not contain a user name or password";
            return false;
        }

        string host;
        try
        {
            // IdnHost is the punycode (ASCII) form of an international host name, already lower-case for ASCII hosts.
            host = uri.IdnHost.ToLowerInvariant().TrimEnd('.');
        }
        catch (UriFormatException)
        {
            error = $"host '{uri.Host}' is not a valid international domain name";
            return false;
        }
        if (host.Length == 0)
        {
            error = "must have a host";
            return false;
        }
        if (uri.HostNameType == UriHostNameType.IPv6)
        {
            host = $"[{host.Trim('[', ']')}]";
        }

        var builder = new StringBuilder(text.Length);
        builder.Append(uri.Scheme).Append("://").Append(host);
        if (!uri.IsDefaultPort)
        {
            builder.Append(':').Append(uri.Port);
        }
        builder.Append(uri.AbsolutePath.Length == 0 ? "/" : uri.AbsolutePath);
        AppendQueryWithoutTracking(builder, uri.Query);
        normalized = builder.ToString();
        error = string.Empty;
        return true;
    }

    /// <inheritdoc />
    public override int Distance(string a, string b) => string.Equals(a, b, StringComparison.Ordinal) ? 0 : int.MaxValue;

    private static void AppendQueryWithoutTracking(StringBuilder builder, string query)
    {
        if (query.Length <= 1)
        {
            return;
        }
        var first = true;
        foreach (var part in query[1..].Split('&'))
        {
            if (part.Length == 0)
            {
                continue;
            }
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? part : part[..eq]);
            if (name.StartsWith("utm_", StringComparison.OrdinalIgnoreCase) || TrackingParameters.Contains(name))
            {
                continue;
            }
            builder.Append(first ? '?' : '&').Append(part);
            first = false;
        }
    }

    private static string Shorten(string text) => text.Length <= 100 ? text : string.Concat(text.AsSpan(0, 100), "...");
}
