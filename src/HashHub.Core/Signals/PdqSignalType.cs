using System.Numerics;

namespace HashHub.Core.Signals;

/// <summary>
/// PDQ, Meta's 256-bit perceptual image hash: 64 hex digits, compared by Hamming distance. Per the PDQ
/// hashing document, distances up to 31 indicate the same image and quality under 50 is too unreliable to share.
/// </summary>
public sealed class PdqSignalType : SignalType
{
    /// <summary>The default match threshold (Hamming distance, inclusive).</summary>
    public const int DefaultThreshold = 31;

    /// <summary>The quality under which ingest rejects a hash by default.</summary>
    public const int DefaultMinQuality = 50;

    internal PdqSignalType()
    {
    }

    /// <inheritdoc />
    public override string Name => "pdq";

    /// <inheritdoc />
    public override bool HasQuality => true;

    /// <inheritdoc />
    public override int DefaultMatchThreshold => DefaultThreshold;

    /// <inheritdoc />
    public override bool TryNormalize(string value, out string normalized, out string error) =>
        Hex.TryNormalize(value, 64, out normalized, out error);

    /// <inheritdoc />
    public override int Distance(string a, string b)
    {
        var x = Convert.FromHexString(a);
        var y = Convert.FromHexString(b);
        var d = 0;
        for (var i = 0; i < x.Length; i += 8)
        {
            d += BitOperations.PopCount(BitConverter.ToUInt64(x, i) ^ BitConverter.ToUInt64(y, i));
        }
        return d;
    }
}
