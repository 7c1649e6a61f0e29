using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Audit;

/// <summary>An action to record in the audit log, in the transaction that performs it.</summary>
public sealed record AuditRecord(string ActorId, string ClientId, string Action, string Target, object Details);

/// <summary>What a verification of the whole chain found.</summary>
public sealed record AuditVerification(bool Intact, long EntriesChecked, long? FirstBrokenSeq, string Reason, byte[] HeadHash);

/// <summary>
/// The hash chain of the audit log (DESIGN.md invariant 6). Entry hash = SHA-256(previous hash || length-prefixed
/// UTF-8 fields || time in microseconds). The first entry's previous hash is 32 zero bytes. Anyone holding an
/// export can recompute the chain with <see cref="ComputeHash"/>'s recipe.
/// </summary>
public static class AuditChain
{
    public const string OperatorActor = "operator";

    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>
    /// Appends <paramref name="records"/> after the current head. Must run under the change-log lock (see
    /// <see cref="Sync.ChangeLog"/>), which serialises appends so the chain never forks.
    /// </summary>
    internal static async Task AppendAsync(HubDbContext db, IReadOnlyList<AuditRecord> records, DateTimeOffset now, CancellationToken ct)
    {
        if (records.Count == 0)
        {
            return;
        }
        var previous = await db.AuditLog.OrderByDescending(e => e.Seq).Select(e => e.Hash).FirstOrDefaultAsync(ct);
        db.AuditLog.AddRange(Link(previous, records, now));
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The entries for <paramref name="records"/>, chained after the head whose hash is <paramref name="previous"/> (null: the log is empty).</summary>
    internal static List<AuditEntryEntity> Link(byte[]? previous, IReadOnlyList<AuditRecord> records, DateTimeOffset now)
    {
        previous ??= new byte[32];
        // Stored times keep whole microseconds on every provider, so hash exactly what is stored.
        var at = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % 10), TimeSpan.Zero);
        var entries = new List<AuditEntryEntity>(records.Count);
        foreach (var r in records)
        {
            var details = JsonSerializer.Serialize(r.Details, Json);
            var hash = ComputeHash(previous, at, r.ActorId, r.ClientId, r.Action, r.Target, details);
            entries.Add(new AuditEntryEntity
            {
                At = at,
                ActorId = r.ActorId,
                ClientId = r.ClientId,
                Action = r.Action,
                Target = r.Target,
                Details = details,
                PreviousHash = previous,
                Hash = hash,
            });
            previous = hash;
        }
        return entries;
    }

    /// <summary>The hash of one entry given the previous entry's hash.</summary>
    public static byte[] ComputeHash(byte[] previous, DateTimeOffset at, string actorId, string clientId, string action, string target, string details)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(previous);
        Span<byte> number = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(number, (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10);
        hash.AppendData(number);
        foreach (var field in new[] { actorId, clientId, action, target, details })
        {
            var bytes = Encoding.UTF8.GetBytes(field);
            BinaryPrimitives.WriteInt64BigEndian(number, bytes.Length);
            hash.AppendData(number);
            hash.AppendData(bytes);
        }
        return hash.GetHashAndReset();
    }

    /// <summary>Recomputes the whole chain in log order and reports the first entry that does not fit.</summary>
    public static async Task<AuditVerification> VerifyAsync(HubDbContext db, CancellationToken ct)
    {
        var previous = new byte[32];
        long checkedCount = 0;
        await foreach (var e in db.AuditLog.AsNoTracking().OrderBy(e => e.Seq).AsAsyncEnumerable().WithCancellation(ct))
        {
            if (!e.PreviousHash.AsSpan().SequenceEqual(previous))
            {
                return new AuditVerification(false, checkedCount, e.Seq, "its previous-hash does not match the entry before it (an entry was removed, inserted or reordered)", previous);
            }
            var expected = ComputeHash(previous, e.At, e.ActorId, e.ClientId, e.Action, e.Target, e.Details);
            if (!expected.AsSpan().SequenceEqual(e.Hash))
            {
                return new AuditVerification(false, checkedCount, e.Seq, "its stored fields do not hash to its stored hash (the entry was changed)", previous);
            }
            previous = e.Hash;
            checkedCount++;
        }
        return new AuditVerification(true, checkedCount, null, "every entry hashes to its stored hash and links to the one before", previous);
    }
}
