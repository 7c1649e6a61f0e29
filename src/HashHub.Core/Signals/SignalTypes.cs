namespace HashHub.Core.Signals;

/// <summary>The signal types this build knows, by name.</summary>
public static class SignalTypes
{
    /// <summary>PDQ perceptual image hash.</summary>
    public static readonly PdqSignalType Pdq = new();

    /// <summary>MD5 of the file bytes.</summary>
    public static readonly HexDigestSignalType Md5 = new("md5", 16);

    /// <summary>SHA-256 of the file bytes.</summary>
    public static readonly HexDigestSignalType Sha256 = new("sha256", 32);

    /// <summary>A URL of hosted content, normalised and matched exactly.</summary>
    public static readonly UrlSignalType Url = new();

    /// <summary>PhotoDNA-like licensed hash, precomputed by members (Euclidean distance, placeholder threshold).</summary>
    public static readonly PhotoDnaSignalType PhotoDna = new();

    private static readonly Dictionary<string, SignalType> ByName =
        new SignalType[] { Pdq, Md5, Sha256, Url, PhotoDna }.ToDictionary(t => t.Name, StringComparer.Ordinal);

    /// <summary>Every registered type.</summary>
    public static IReadOnlyCollection<SignalType> All => ByName.Values;

    /// <summary>Finds a type by its name; null when there is none.</summary>
    public static SignalType? Find(string name) => ByName.GetValueOrDefault(name);
}
