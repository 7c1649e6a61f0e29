using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Sync;

/// <summary>One page read from the change log.</summary>
internal sealed record ChangePage(IReadOnlyList<ChangeEntity> Changes, IReadOnlyDictionary<long, SignalEntity> Signals, long NextSeq, bool HasMore);

/// <summary>
/// Reads the change log by cursor. Because appends are serialised until commit (<see cref="ChangeLog"/>),
/// every change at or below the highest committed sequence number is already committed: reading up to that
/// head can never pass over a change that commits later.
/// </summary>
internal sealed class ChangeReader(HubDbContext db)
{
    public async Task<ChangePage> ReadAsync(long afterSeq, int pageSize, IReadOnlyCollection<string> types, CancellationToken cancellationToken)
    {
        var head = await db.Changes.MaxAsync(c => (long?)c.Seq, cancellationToken) ?? 0;
        if (head <= afterSeq)
        {
            return new ChangePage([], new Dictionary<long, SignalEntity>(), afterSeq, false);
        }

        var query = db.Changes.AsNoTracking().Where(c => c.Seq > afterSeq && c.Seq <= head);
        if (types.Count > 0)
        {
            query = query.Where(c => types.Contains(c.SignalType));
        }
        var changes = await query.OrderBy(c => c.Seq).Take(pageSize).ToListAsync(cancellationToken);

        // A short page means everything up to the head was scanned (the filter skipped the rest).
        var nextSeq = changes.Count == pageSize ? changes[^1].Seq : head;
        var signalIds = changes.Select(c => c.SignalId).Distinct().ToList();
        var signals = await LoadSignalsAsync(db, signalIds, cancellationToken);
        return new ChangePage(changes, signals, nextSeq, nextSeq < head);
    }

    /// <summary>Loads signals with all their contributions, untracked.</summary>
    internal static async Task<Dictionary<long, SignalEntity>> LoadSignalsAsync(HubDbContext db, IReadOnlyCollection<long> signalIds, CancellationToken cancellationToken)
    {
        if (signalIds.Count == 0)
        {
            return [];
        }
        var signals = await db.Signals.AsNoTracking().Where(s => signalIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
        var contributions = await db.Contributions.AsNoTracking().Where(c => signalIds.Contains(c.SignalId)).OrderBy(c => c.Id).ToListAsync(cancellationToken);
        foreach (var c in contributions)
        {
            signals[c.SignalId].Contributions.Add(c);
        }
        return signals;
    }
}
