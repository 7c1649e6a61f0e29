using System.Buffers.Binary;
using System.Security.Cryptography;

namespace HashHub.Server.Tests.Infrastructure;

/// <summary>
/// What an authenticator app computes: TOTP (RFC 6238) over HOTP (RFC 4226) with HMAC-SHA1, 30-second steps and six
/// digits, from the base32 (RFC 4648) shared key the console shows. Written here from the RFCs, independently of
/// the hub's Identity code, so the test checks the hub against the standard, not against itself.
/// </summary>
internal static class Totp
{
    public static string Code(string base32Key, DateTimeOffset at, int stepOffset = 0)
    {
        var step = at.ToUnixTimeSeconds() / 30 + stepOffset;
        Span<byte> counter = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(counter, step);
#pragma warning disable CA5350 // RFC 6238's default, which every authenticator app and the hub use.
        var mac = HMACSHA1.HashData(Base32(base32Key), counter);
#pragma warning restore CA5350
        var offset = mac[^1] & 0x0f;
        var binary = (BinaryPrimitives.ReadInt32BigEndian(mac.AsSpan(offset, 4)) & 0x7fffffff) % 1_000_000;
        return binary.ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>A six-digit code that is valid at none of the steps around <paramref name="at"/> (for the wrong-code test).</summary>
    public static string WrongCode(string base32Key, DateTimeOffset at)
    {
        var valid = Enumerable.Range(-5, 11).Select(o => Code(base32Key, at, o)).ToHashSet();
        return Enumerable.Range(0, 20).Select(i => (123456 + i * 7919).ToString("D6", System.Globalization.CultureInfo.InvariantCulture)).First(c => !valid.Contains(c));
    }

    private static byte[] Base32(string text)
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var clean = text.Replace(" ", string.Empty, StringComparison.Ordinal).TrimEnd('=').ToUpperInvariant();
        var bytes = new List<byte>(clean.Length * 5 / 8);
        int buffer = 0, bits = 0;
        foreach (var c in clean)
        {
            var value = alphabet.IndexOf(c, StringComparison.Ordinal);
            if (value < 0)
            {
                throw new FormatException($"'{c}' is not a base32 digit.");
            }
            buffer = (buffer << 5) | value;
            bits += 5;
            if (bits >= 8)
            {
                bits -= 8;
                bytes.Add((byte)(buffer >> bits));
                buffer &= (1 << bits) - 1;
            }
        }
        return [.. bytes];
    }
}
