using System.Globalization;
using System.Numerics;

namespace HashHub.Core.Signals.Pdq;

/// <summary>
/// A 256-bit PDQ hash. Bit <c>i*16+j</c> is set when DCT coefficient <c>[i][j]</c> is above the median
/// (PDQ hashing document, "Hash output"). The bits are held as the reference's sixteen 16-bit words:
/// word <c>i</c> is DCT row <c>i</c>, with column <c>j</c> at bit <c>j</c>.
/// </summary>
public readonly struct PdqHash : IEquatable<PdqHash>
{
    // Words 0-3 in _w0 (word 0 in the low 16 bits), 4-7 in _w1, and so on: popcount-friendly and cheap to copy.
    private readonly ulong _w0;
    private readonly ulong _w1;
    private readonly ulong _w2;
    private readonly ulong _w3;

    private PdqHash(ulong w0, ulong w1, ulong w2, ulong w3)
    {
        _w0 = w0;
        _w1 = w1;
        _w2 = w2;
        _w3 = w3;
    }

    /// <summary>The number of bits in a PDQ hash.</summary>
    public const int BitCount = 256;

    /// <summary>The hash with no bit set (what the reference returns for an image too small to hash).</summary>
    public static PdqHash Zero => default;

    /// <summary>Builds a hash from the reference's 16 words (word <c>i</c> = DCT row <c>i</c>).</summary>
    /// <exception cref="ArgumentException">When <paramref name="words"/> does not hold exactly 16 words.</exception>
    public static PdqHash FromWords(ReadOnlySpan<ushort> words)
    {
        if (words.Length != 16)
        {
            throw new ArgumentException($"A PDQ hash has 16 words, got {words.Length}.", nameof(words));
        }
        Span<ulong> q = stackalloc ulong[4];
        for (var i = 0; i < 16; i++)
        {
            q[i >> 2] |= (ulong)words[i] << ((i & 3) * 16);
        }
        return new PdqHash(q[0], q[1], q[2], q[3]);
    }

    /// <summary>Word <paramref name="index"/> (0-15) of the reference's layout: DCT row <paramref name="index"/>.</summary>
    public ushort GetWord(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, 15);
        return (ushort)(Quad(index >> 2) >> ((index & 3) * 16));
    }

    /// <summary>Bit <paramref name="index"/> (0-255), that is DCT row <c>index/16</c>, column <c>index%16</c>.</summary>
    public bool GetBit(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(index, BitCount - 1);
        return ((Quad(index >> 6) >> (index & 63)) & 1) != 0;
    }

    /// <summary>The number of bits that differ (PDQ's match distance).</summary>
    public int HammingDistance(PdqHash other) =>
        BitOperations.PopCount(_w0 ^ other._w0) + BitOperations.PopCount(_w1 ^ other._w1) +
        BitOperations.PopCount(_w2 ^ other._w2) + BitOperations.PopCount(_w3 ^ other._w3);

    /// <summary>
    /// The 64 lower-case hex digits the reference prints: word 15 first, each word as 4 big-endian digits,
    /// so digits 0-3 are DCT row 15 and the last 4 are row 0.
    /// </summary>
    public string ToHex() =>
        string.Create(64, this, static (chars, hash) =>
        {
            for (var w = 15; w >= 0; w--)
            {
                hash.GetWord(w).TryFormat(chars[((15 - w) * 4)..], out _, "x4", CultureInfo.InvariantCulture);
            }
        });

    /// <summary>Parses the reference's 64-digit hex form (either case).</summary>
    /// <exception cref="FormatException">When <paramref name="hex"/> is not 64 hex digits.</exception>
    public static PdqHash Parse(string hex)
    {
        ArgumentNullException.ThrowIfNull(hex);
        return TryParse(hex, out var hash)
            ? hash
            : throw new FormatException($"A PDQ hash is 64 hex digits, got '{hex}'.");
    }

    /// <summary>Parses the reference's 64-digit hex form (either case); false when it is malformed.</summary>
    public static bool TryParse(string? hex, out PdqHash hash)
    {
        hash = default;
        if (hex is null || hex.Length != 64)
        {
            return false;
        }
        Span<ushort> words = stackalloc ushort[16];
        for (var w = 0; w < 16; w++)
        {
            if (!ushort.TryParse(hex.AsSpan((15 - w) * 4, 4), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out words[w]))
            {
                return false;
            }
        }
        hash = FromWords(words);
        return true;
    }

    /// <inheritdoc />
    public override string ToString() => ToHex();

    /// <inheritdoc />
    public bool Equals(PdqHash other) => _w0 == other._w0 && _w1 == other._w1 && _w2 == other._w2 && _w3 == other._w3;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is PdqHash other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(_w0, _w1, _w2, _w3);

    /// <summary>Equality of all 256 bits.</summary>
    public static bool operator ==(PdqHash left, PdqHash right) => left.Equals(right);

    /// <summary>Inequality of any bit.</summary>
    public static bool operator !=(PdqHash left, PdqHash right) => !left.Equals(right);

    private ulong Quad(int i) => i switch { 0 => _w0, 1 => _w1, 2 => _w2, _ => _w3 };
}
