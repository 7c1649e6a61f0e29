using System.Buffers.Binary;
using HashHub.Server.Errors;

namespace HashHub.Server.Sync;

/// <summary>
/// The opaque sync cursor: the log's epoch (a random id made when the database was created) and the sequence
/// number of the last change delivered. The epoch lets the hub tell a cursor of another database (or of a
/// history that was rebuilt) from a valid one, and answer "resync required" instead of silently skipping.
/// </summary>
internal readonly record struct Cursor(long Epoch, long Seq)
{
    private const byte Version = 1;

    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[17];
        bytes[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], Epoch);
        BinaryPrimitives.WriteInt64BigEndian(bytes[9..], Seq);
        // Base64url without padding: one string per cursor (every change carries one, so this is on the sync path).
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    /// <summary>Parses a cursor given by a client; an empty one is the start of the log.</summary>
    public static Cursor Parse(string? text, long epoch, string field)
    {
        if (string.IsNullOrEmpty(text))
        {
            return new Cursor(epoch, 0);
        }
        Span<byte> bytes = stackalloc byte[18];
        var base64 = text.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        if (text.Length > 24 || !Convert.TryFromBase64String(base64, bytes, out var written) || written != 17 || bytes[0] != Version)
        {
            throw new RequestValidationException(field, "is not a cursor this hub issued; pass a cursor from an earlier response, or empty to start from the beginning");
        }
        var cursor = new Cursor(BinaryPrimitives.ReadInt64BigEndian(bytes[1..]), BinaryPrimitives.ReadInt64BigEndian(bytes[9..]));
        if (cursor.Epoch != epoch)
        {
            throw new PreconditionFailedException("resync required: the cursor belongs to another change log (another hub database, or a history that was rebuilt); sync again from an empty cursor");
        }
        if (cursor.Seq < 0)
        {
            throw new RequestValidationException(field, "is not a cursor this hub issued");
        }
        return cursor;
    }
}
