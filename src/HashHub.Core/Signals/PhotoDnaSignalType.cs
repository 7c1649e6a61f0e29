using System.Buffers;

namespace HashHub.Core.Signals;

/// <summary>
/// A PhotoDNA-like hash: 144 bytes compared by a distance the consortium chooses (Euclidean by default).
/// PhotoDNA itself is licensed, so HashHub never computes it: members precompute it and share the value.
/// </summary>
/// <remarks>
/// Values arrive as 288 hex digits or as base64 of the 144 bytes (192 characters) and are stored as lower-case
/// hex, so the same hash always has the same text. Matching goes through the generic linear path
/// (<see cref="Matching.SignalIndex"/>: a linear scan over the type's distance), since no sub-linear index is
/// known for an arbitrary distance.
/// </remarks>
public sealed class PhotoDnaSignalType : SignalType
{
    /// <summary>The length of the hash in bytes.</summary>
    public const int HashBytes = 144;

    /// <summary>
    /// The default threshold of the registered type (Euclidean distance, inclusive). PhotoDNA publishes no
    /// threshold, so this is a placeholder a consortium replaces by constructing its own instance: about a
    /// seventh of the distance between two unrelated random 144-byte vectors (~1,250).
    /// </summary>
    public const int DefaultThreshold = 180;

    private readonly Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>, int>? _custom;
    private readonly int _threshold;

    /// <summary>Creates the type with a threshold and, optionally, a distance other than Euclidean.</summary>
    /// <param name="matchThreshold">Values at a distance at or under it match.</param>
    /// <param name="distance">
    /// The distance between two 144-byte hashes; null for <see cref="EuclideanDistance"/>. It must be 0 for equal
    /// hashes and never negative.
    /// </param>
    public PhotoDnaSignalType(int matchThreshold = DefaultThreshold, Func<ReadOnlyMemory<byte>, ReadOnlyMemory<byte>, int>? distance = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(matchThreshold);
        _threshold = matchThreshold;
        _custom = distance;
    }

    /// <inheritdoc />
    public override string Name => "photodna";

    /// <inheritdoc />
    public override int DefaultMatchThreshold => _threshold;

    /// <inheritdoc />
    public override bool TryNormalize(string value, out string normalized, out string error)
    {
        normalized = string.Empty;
        if (string.IsNullOrEmpty(value))
        {
            error = $"must be {HashBytes * 2} hex digits or base64 of {HashBytes} bytes, got an empty value";
            return false;
        }
        if (value.Length == HashBytes * 2)
        {
            return Hex.TryNormalize(value, HashBytes * 2, out normalized, out error);
        }
        var bytes = ArrayPool<byte>.Shared.Rent(value.Length);
        try
        {
            // Base64 needs no padding for 144 bytes (a multiple of 3), so its length is exactly 192.
            if (!Convert.TryFromBase64String(value, bytes, out var written))
            {
                error = $"must be {HashBytes * 2} hex digits or base64 of {HashBytes} bytes, got {value.Length} characters that are neither";
                return false;
            }
            if (written != HashBytes)
            {
                error = $"base64 must decode to {HashBytes} bytes, got {written}";
                return false;
            }
            normalized = Convert.ToHexStringLower(bytes, 0, HashBytes);
            error = string.Empty;
            return true;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }

    /// <inheritdoc />
    /// <remarks>Both values must be canonical (lower-case hex, as <see cref="TryNormalize"/> returns).</remarks>
    public override int Distance(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (_custom is not null)
        {
            return _custom(Convert.FromHexString(a), Convert.FromHexString(b));
        }
        Span<byte> x = stackalloc byte[HashBytes];
        Span<byte> y = stackalloc byte[HashBytes];
        if (Convert.FromHexString(a, x, out _, out var nx) != OperationStatus.Done || nx != HashBytes
            || Convert.FromHexString(b, y, out _, out var ny) != OperationStatus.Done || ny != HashBytes)
        {
            throw new ArgumentException($"PhotoDNA values must be {HashBytes * 2} hex digits; normalise them first.");
        }
        return EuclideanDistance(x, y);
    }

    /// <summary>
    /// The Euclidean distance between two byte vectors, rounded up, so that <c>distance &lt;= t</c> holds exactly
    /// when the true distance is at most t (the sum of squares is compared with t squared, in integers).
    /// </summary>
    public static int EuclideanDistance(ReadOnlySpan<byte> a, ReadOnlySpan<byte> b)
    {
        if (a.Length != b.Length)
        {
            throw new ArgumentException("The vectors must have the same length.", nameof(b));
        }
        long sum = 0;
        for (var i = 0; i < a.Length; i++)
        {
            var d = a[i] - b[i];
            sum += d * d;
        }
        var r = (long)Math.Sqrt(sum);
        // Correct the floating-point root to the exact integer ceiling.
        while (r * r > sum)
        {
            r--;
        }
        while (r * r < sum)
        {
            r++;
        }
        return (int)r;
    }
}
