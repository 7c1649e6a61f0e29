namespace HashHub.Core.Signals;

/// <summary>A cryptographic digest of the file bytes (MD5, SHA-256): fixed-length hex, exact match only.</summary>
public sealed class HexDigestSignalType : SignalType
{
    private readonly int _hexDigits;

    internal HexDigestSignalType(string name, int bytes)
    {
        Name = name;
        _hexDigits = bytes * 2;
    }

    /// <inheritdoc />
    public override string Name { get; }

    /// <inheritdoc />
    public override bool TryNormalize(string value, out string normalized, out string error) =>
        Hex.TryNormalize(value, _hexDigits, out normalized, out error);

    /// <inheritdoc />
    public override int Distance(string a, string b) => string.Equals(a, b, StringComparison.Ordinal) ? 0 : int.MaxValue;
}
