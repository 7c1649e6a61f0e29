using System.Globalization;
using HashHub.Server.Audit;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Probation;

/// <summary>
/// Contributions held while their member is on probation (<see cref="HubOptions.Probation"/>): releasing them
/// (an admin's decision, the end of probation, or in confirmation mode another member's contribution of the same
/// signal) and rejecting them. Each decision appends a change for the signal, so the members that may now see it
/// (or, for a rejection, the contributing member) receive it through sync, and an audit entry.
/// </summary>
internal sealed class HeldContributions(HubDbContext db, ChangeLog changeLog, MemberDirectory directory, TimeProvider time)
{
    public const int MaxIds = 1000;

    /// <summary>Held contributions, oldest first, from <paramref name="afterId"/>.</summary>
    public async Task<List<ContributionEntity>> ListAsync(string? memberId, long afterId, int pageSize, CancellationToken cancellationToken)
    {
        var query = db.Contributions.AsNoTracking()
            // "> AllMembers" too: the partial index on Visibility holds only those rows, and SQLite uses a partial index
            // only for a query that names its condition.
            .Where(c => c.Visibility > ContributionVisibility.AllMembers && c.Visibility == ContributionVisibility.Held
                && c.Status == ContributionStatus.Active && c.Id > afterId);
        if (!string.IsNullOrEmpty(memberId))
        {
            query = query.Where(c => c.MemberId == memberId);
        }
        var held = await query.OrderBy(c => c.Id).Take(pageSize).ToListAsync(cancellationToken);
        // Contributions have no mapped navigation to their signal (no foreign key: see SignalConfiguration).
        var signalIds = held.Select(c => c.SignalId).Distinct().ToList();
        var signals = await db.Signals.AsNoTracking().Where(s => signalIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
        foreach (var c in held)
        {
            c.Signal = signals[c.SignalId];
        }
        await Sharing.Visibility.LoadGroupsAsync(db, held, cancellationToken);
        return held;
    }

    /// <summary>Releases the held contributions <paramref name="ids"/>; all-or-nothing.</summary>
    public Task<int> ReleaseAsync(Caller admin, IReadOnlyCollection<long> ids, string reason, CancellationToken cancellationToken) =>
        changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var held = await LoadHeldAsync(ids, ct);
            await ReleaseAsync(batch, held, admin.MemberId, admin.ClientId, "admin", reason, ct);
            return held.Count;
        }, cancellationToken);

    /// <summary>Rejects the held contributions <paramref name="ids"/>: retracted, never shown to others; all-or-nothing.</summary>
    public Task<int> RejectAsync(Caller admin, IReadOnlyCollection<long> ids, string reason, CancellationToken cancellationToken) =>
        changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var held = await LoadHeldAsync(ids, ct);
            var now = time.GetUtcNow();
            var signalIds = held.Select(c => c.SignalId).Distinct().ToList();
            var signals = await db.Signals.Where(s => signalIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, ct);
            foreach (var c in held)
            {
                c.Visibility = ContributionVisibility.Rejected;
                c.Status = ContributionStatus.Retracted;
                c.RetractedAt = now;
                c.UpdatedAt = now;
                c.RetractReason = reason;
                batch.Audit(new AuditRecord(admin.MemberId, admin.ClientId, "contribution.reject", Id(c.Id), new { SignalId = Id(c.SignalId), c.MemberId, Reason = reason }));
            }
            await db.SaveChangesAsync(ct);
            var stillActive = (await db.Contributions.Where(c => signalIds.Contains(c.SignalId) && c.Status == ContributionStatus.Active)
                .Select(c => c.SignalId).Distinct().ToListAsync(ct)).ToHashSet();
            foreach (var signal in signals.Values)
            {
                signal.UpdatedAt = now;
                if (stillActive.Contains(signal.Id))
                {
                    batch.Record(signal, ChangeKind.Updated);
                }
                else
                {
                    signal.Status = SignalStatus.Retracted;
                    batch.Record(signal, ChangeKind.Retracted);
                }
            }
            return held.Count;
        }, cancellationToken);

    /// <summary>Ends a member's probation, releasing its held contributions when asked to.</summary>
    public async Task<Member> EndProbationAsync(Caller admin, string memberId, bool releaseHeld, string reason, CancellationToken cancellationToken)
    {
        var member = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var member = await db.Members.SingleOrDefaultAsync(m => m.Id == memberId, ct)
                ?? throw new NotFoundException($"No member {memberId}.");
            if (!member.OnProbation)
            {
                throw new PreconditionFailedException($"Member {memberId} is not on probation.");
            }
            member.OnProbation = false;
            var released = 0;
            if (releaseHeld)
            {
                var held = await db.Contributions
                    .Where(c => c.MemberId == memberId && c.Visibility == ContributionVisibility.Held && c.Status == ContributionStatus.Active)
                    .ToListAsync(ct);
                await ReleaseAsync(batch, held, admin.MemberId, admin.ClientId, "end of probation", reason, ct);
                released = held.Count;
            }
            batch.Audit(new AuditRecord(admin.MemberId, admin.ClientId, "member.end_probation", memberId, new { ReleasedHeld = released, Reason = reason }));
            return member;
        }, cancellationToken);
        directory.Invalidate(member.Id);
        return member;
    }

    /// <summary>
    /// Confirmation mode: <paramref name="confirmer"/> (not on probation) contributed to <paramref name="signals"/>,
    /// which releases the other members' contributions held on them. Runs inside the contributing transaction.
    /// </summary>
    public async Task<int> ReleaseConfirmedAsync(WriteBatch batch, Caller confirmer, IReadOnlyDictionary<long, SignalEntity> signals, CancellationToken ct)
    {
        if (signals.Count == 0)
        {
            return 0;
        }
        var signalIds = signals.Keys.ToList();
        var held = await db.Contributions
            .Where(c => c.Visibility == ContributionVisibility.Held && c.Status == ContributionStatus.Active && c.MemberId != confirmer.MemberId && signalIds.Contains(c.SignalId))
            .ToListAsync(ct);
        await ReleaseAsync(batch, held, confirmer.MemberId, confirmer.ClientId, "confirmation", "contributed by a member not on probation", ct, signals);
        return held.Count;
    }

    private async Task ReleaseAsync(WriteBatch batch, List<ContributionEntity> held, string actorId, string clientId, string by, string reason,
        CancellationToken ct, IReadOnlyDictionary<long, SignalEntity>? trackedSignals = null)
    {
        if (held.Count == 0)
        {
            return;
        }
        var ids = held.Select(c => c.Id).ToList();
        var scoped = (await db.ContributionGroups.Where(g => ids.Contains(g.ContributionId)).Select(g => g.ContributionId).Distinct().ToListAsync(ct)).ToHashSet();
        var signalIds = held.Select(c => c.SignalId).Distinct().Where(id => trackedSignals is null || !trackedSignals.ContainsKey(id)).ToList();
        var signals = signalIds.Count == 0 ? [] : await db.Signals.Where(s => signalIds.Contains(s.Id)).ToDictionaryAsync(s => s.Id, ct);
        var now = time.GetUtcNow();
        foreach (var c in held)
        {
            // Released within the scope it was contributed with.
            c.Visibility = scoped.Contains(c.Id) ? ContributionVisibility.Groups : ContributionVisibility.AllMembers;
            c.UpdatedAt = now;
            var signal = trackedSignals?.GetValueOrDefault(c.SignalId) ?? signals[c.SignalId];
            signal.UpdatedAt = now;
            batch.Record(signal, ChangeKind.Updated);
            batch.Audit(new AuditRecord(actorId, clientId, "contribution.release", Id(c.Id), new { SignalId = Id(c.SignalId), c.MemberId, By = by, Reason = reason }));
        }
    }

    private async Task<List<ContributionEntity>> LoadHeldAsync(IReadOnlyCollection<long> ids, CancellationToken ct)
    {
        var list = ids.Distinct().ToList();
        var found = await db.Contributions.Where(c => list.Contains(c.Id)).ToListAsync(ct);
        var missing = list.Except(found.Select(c => c.Id)).ToList();
        if (missing.Count > 0)
        {
            throw new NotFoundException($"No contribution {Id(missing[0])} is known to the hub.");
        }
        var notHeld = found.FirstOrDefault(c => c.Visibility != ContributionVisibility.Held || c.Status != ContributionStatus.Active);
        if (notHeld is not null)
        {
            throw new PreconditionFailedException($"Contribution {Id(notHeld.Id)} is not held for review; nothing was changed.");
        }
        return found;
    }

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
