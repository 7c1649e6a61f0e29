using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;

namespace HashHub.Core.Matching;

/// <summary>
/// A 256-bit hash (PDQ) held as four 64-bit words, compared by Hamming distance.
/// </summary>
/// <remarks>
/// The text form is PDQ's: 64 hex digits. The digits are read as big-endian bytes, so <see cref="Word0"/> holds
/// hex digits 0-15 and <see cref="Word3"/> digits 48-63. That keeps the text exactly as the reference prints it
/// (its digits 0-3 are the reference's 16-bit word 15); the bit order inside the value does not matter for
/// Hamming distance, only that parsing and formatting round-trip.
/// </remarks>
public readonly struct Hash256 : IEquatable<Hash256>
{
    /// <summary>The number of hex digits in the text form.</summary>
    public const int HexLength = 64;

    /// <summary>Creates a hash from its four words, most significant (first printed) first.</summary>
    public Hash256(ulong word0, ulong word1, ulong word2, ulong word3)
    {
        Word0 = word0;
        Word1 = word1;
        Word2 = word2;
        Word3 = word3;
    }

    /// <summary>Hex digits 0-15 of the text form.</summary>
    public ulong Word0 { get; }

    /// <summary>Hex digits 16-31 of the text form.</summary>
    public ulong Word1 { get; }

    /// <summary>Hex digits 32-47 of the text form.</summary>
    public ulong Word2 { get; }

    /// <summary>Hex digits 48-63 of the text form.</summary>
    public ulong Word3 { get; }

    /// <summary>The Hamming distance (number of differing bits, 0-256) to <paramref name="other"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int DistanceTo(in Hash256 other) =>
        BitOperations.PopCount(Word0 ^ other.Word0) + BitOperations.PopCount(Word1 ^ other.Word1)
        + BitOperations.PopCount(Word2 ^ other.Word2) + BitOperations.PopCount(Word3 ^ other.Word3);

    /// <summary>Word <paramref name="index"/> (0-3).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong GetWord(int index)
    {
        // Indexing instead of a switch: the index hot paths take a chunk from a computed word number, and a
        // jump table there costs more than the rest of the work. The four words are the struct's only fields,
        // laid out in order (sequential layout, the default for structs).
        ArgumentOutOfRangeException.ThrowIfGreaterThan((uint)index, 3u, nameof(index));
        return Unsafe.Add(ref Unsafe.As<Hash256, ulong>(ref Unsafe.AsRef(in this)), index);
    }

    /// <summary>Parses 64 hex digits (either case); throws <see cref="FormatException"/> otherwise.</summary>
    public static Hash256 Parse(ReadOnlySpan<char> hex) =>
        TryParse(hex, out var hash) ? hash : throw new FormatException($"A PDQ hash must be {HexLength} hex digits.");

    /// <summary>Parses 64 hex digits (either case), with no prefix or whitespace.</summary>
    public static bool TryParse(ReadOnlySpan<char> hex, out Hash256 hash)
    {
        hash = default;
        if (hex.Length != HexLength)
        {
            return false;
        }
        foreach (var c in hex)
        {
            // ulong.TryParse with AllowHexSpecifier is strict already; the explicit check keeps the rule obvious.
            if (!char.IsAsciiHexDigit(c))
            {
                return false;
            }
        }
        Span<ulong> w = stackalloc ulong[4];
        for (var i = 0; i < 4; i++)
        {
            if (!ulong.TryParse(hex.Slice(i * 16, 16), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out w[i]))
            {
                return false;
            }
        }
        hash = new Hash256(w[0], w[1], w[2], w[3]);
        return true;
    }

    /// <summary>The 64 lower-case hex digits.</summary>
    public override string ToString() =>
        string.Create(HexLength, this, static (span, h) =>
        {
            for (var i = 0; i < 4; i++)
            {
                h.GetWord(i).TryFormat(span.Slice(i * 16, 16), out _, "x16", CultureInfo.InvariantCulture);
            }
        });

    /// <inheritdoc />
    public bool Equals(Hash256 other) =>
        Word0 == other.Word0 && Word1 == other.Word1 && Word2 == other.Word2 && Word3 == other.Word3;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Hash256 other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Word0, Word1, Word2, Word3);

    /// <summary>Value equality.</summary>
    public static bool operator ==(Hash256 left, Hash256 right) => left.Equals(right);

    /// <summary>Value inequality.</summary>
    public static bool operator !=(Hash256 left, Hash256 right) => !left.Equals(right);
}
