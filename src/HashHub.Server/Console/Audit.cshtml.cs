using HashHub.Server.Audit;
using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.AdminConsole.Pages;

/// <summary>
/// The audit log, newest first, a page at a time (keyset on the sequence number), under the verification of the
/// whole chain: intact, or the first entry that does not fit and why.
/// </summary>
internal sealed class AuditModel(HubDbContext db) : ConsolePageModel
{
    public const int PageSize = 50;

    /// <summary>Show entries before this sequence number (the next page of older ones).</summary>
    public long? Before { get; set; }

    public AuditVerification Verification { get; private set; } = null!;

    public IReadOnlyList<AuditEntryEntity> Entries { get; private set; } = [];

    public long? OlderBefore { get; private set; }

    public async Task OnGetAsync(long? before, CancellationToken cancellationToken)
    {
        Before = before;
        Verification = await AuditChain.VerifyAsync(db, cancellationToken);
        var query = db.AuditLog.AsNoTracking();
        if (before is { } b)
        {
            query = query.Where(e => e.Seq < b);
        }
        var entries = await query.OrderByDescending(e => e.Seq).Take(PageSize + 1).ToListAsync(cancellationToken);
        Entries = entries.Take(PageSize).ToList();
        OlderBefore = entries.Count > PageSize ? Entries[^1].Seq : null;
    }
}
