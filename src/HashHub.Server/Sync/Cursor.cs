using System.Buffers.Binary;
using HashHub.Server.Errors;

namespace HashHub.Server.Sync;

/// <summary>
/// The opaque sync cursor: the log's epoch (a random id made when the database was created), the sequence
/// number of the last change delivered, and the reader's visibility epoch (<see cref="Storage.Member.VisibilityEpoch"/>).
/// The log's epoch lets the hub tell a cursor of another database (or of a history that was rebuilt) from a valid
/// one; the visibility epoch, a cursor issued before the member's sharing groups changed (what it may see changed
/// without any change in the log). Either answers "resync required" instead of silently skipping.
/// </summary>
internal readonly record struct Cursor(long Epoch, long Seq, int View = 0)
{
    private const byte Version = 2;
    private const int Length = 21;

    public string Encode()
    {
        Span<byte> bytes = stackalloc byte[Length];
        bytes[0] = Version;
        BinaryPrimitives.WriteInt64BigEndian(bytes[1..], Epoch);
        BinaryPrimitives.WriteInt64BigEndian(bytes[9..], Seq);
        BinaryPrimitives.WriteInt32BigEndian(bytes[17..], View);
        // Base64url without padding: one string per cursor (every change carries one, so this is on the sync path).
        return System.Buffers.Text.Base64Url.EncodeToString(bytes);
    }

    /// <summary>Parses a cursor given by a client; an empty one is the start of the log.</summary>
    public static Cursor Parse(string? text, long epoch, string field) => Parse(text, epoch, view: null, field);

    /// <summary>
    /// Parses a cursor given by a client and checks that it was issued for the reader's current
    /// <paramref name="view"/> (null: not checked); an empty cursor is the start of the log in that view.
    /// </summary>
    public static Cursor Parse(string? text, long epoch, int? view, string field)
    {
        if (string.IsNullOrEmpty(text))
        {
            return new Cursor(epoch, 0, view ?? 0);
        }
        Span<byte> bytes = stackalloc byte[Length + 1];
        var base64 = text.Replace('-', '+').Replace('_', '/');
        base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
        if (text.Length > 28 || !Convert.TryFromBase64String(base64, bytes, out var written) || written != Length || bytes[0] != Version)
        {
            throw new RequestValidationException(field, "is not a cursor this hub issued; pass a cursor from an earlier response, or empty to start from the beginning");
        }
        var cursor = new Cursor(BinaryPrimitives.ReadInt64BigEndian(bytes[1..]), BinaryPrimitives.ReadInt64BigEndian(bytes[9..]), BinaryPrimitives.ReadInt32BigEndian(bytes[17..]));
        if (cursor.Epoch != epoch)
        {
            throw new PreconditionFailedException("resync required: the cursor belongs to another change log (another hub database, or a history that was rebuilt); sync again from an empty cursor");
        }
        if (cursor.Seq < 0)
        {
            throw new RequestValidationException(field, "is not a cursor this hub issued");
        }
        if (view is { } current && cursor.View != current)
        {
            throw ViewChanged();
        }
        return cursor;
    }

    public static PreconditionFailedException ViewChanged() =>
        new("resync required: what this member may see changed since the cursor was issued (its sharing groups changed); sync again from an empty cursor");
}
