using HashHub.Server.Contributions;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Sharing;
using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Matching;

/// <summary>
/// Records the match outcomes members report (matched, actioned, false positive) for transparency figures.
/// A batch is all-or-nothing and idempotent per key: the rows are unique by (member, key, position).
/// </summary>
internal sealed class OutcomeService(HubDbContext db, TimeProvider time)
{
    public const int MaxReports = 1_000;
    public const int MaxCount = 1_000_000;

    /// <summary>Clocks differ: an observation a few minutes "in the future" is a skewed clock, not an error.</summary>
    private static readonly TimeSpan AllowedSkew = TimeSpan.FromMinutes(5);

    public async Task<Proto.ReportOutcomesResponse> ReportAsync(Caller caller, Proto.ReportOutcomesRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var rows = Validate(caller, request, now);
        if (await IsReplayAsync(caller, request.IdempotencyKey, cancellationToken))
        {
            return new Proto.ReportOutcomesResponse { Replayed = true };
        }

        var ids = rows.Select(r => r.SignalId).Distinct().ToList();
        // A signal the caller may not see (shared within groups it is not in, or held) is as unknown as one that
        // does not exist: the answer must not tell it apart.
        var known = await db.Contributions.Where(c => ids.Contains(c.SignalId)).VisibleTo(db, Sharing.Visibility.ViewerOf(caller))
            .Select(c => c.SignalId).Distinct().ToListAsync(cancellationToken);
        var missing = rows.Where(r => !known.Contains(r.SignalId))
            .Select(r => new FieldViolation($"reports[{r.Ordinal}].signal_id", $"names no signal known to the hub ({r.SignalId})"))
            .ToList();
        if (missing.Count > 0)
        {
            throw new RequestValidationException(missing);
        }

        db.MatchOutcomes.AddRange(rows);
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            // The same batch, sent twice at once: the other call recorded it (the unique key stopped this one).
            if (await IsReplayAsync(caller, request.IdempotencyKey, cancellationToken))
            {
                return new Proto.ReportOutcomesResponse { Replayed = true };
            }
            throw;
        }
        return new Proto.ReportOutcomesResponse { Recorded = rows.Count };
    }

    private Task<bool> IsReplayAsync(Caller caller, string key, CancellationToken cancellationToken) =>
        db.MatchOutcomes.AnyAsync(o => o.MemberId == caller.MemberId && o.BatchKey == key, cancellationToken);

    private static List<MatchOutcomeEntity> Validate(Caller caller, Proto.ReportOutcomesRequest request, DateTimeOffset now)
    {
        var violations = new List<FieldViolation>();
        ContributionValidator.ValidateIdempotencyKey(request.IdempotencyKey, violations);
        if (request.Reports.Count == 0)
        {
            violations.Add(new("reports", "must hold at least one report"));
        }
        else if (request.Reports.Count > MaxReports)
        {
            violations.Add(new("reports", $"holds {request.Reports.Count} reports; the most in one call is {MaxReports}"));
        }
        var rows = new List<MatchOutcomeEntity>(Math.Min(request.Reports.Count, MaxReports));
        for (var i = 0; i < request.Reports.Count && i < MaxReports && violations.Count < 100; i++)
        {
            var report = request.Reports[i];
            var field = $"reports[{i}]";
            long signalId = 0;
            try
            {
                signalId = ContributionService.ParseId(report.SignalId, field + ".signal_id");
            }
            catch (RequestValidationException ex)
            {
                violations.AddRange(ex.Violations);
            }
            if (report.Outcome is not (Proto.MatchOutcome.Matched or Proto.MatchOutcome.Actioned or Proto.MatchOutcome.FalsePositive))
            {
                violations.Add(new(field + ".outcome", "must be MATCHED, ACTIONED or FALSE_POSITIVE"));
            }
            if (report.Count is < 0 or > MaxCount)
            {
                violations.Add(new(field + ".count", $"is {report.Count}; it must be 1 to {MaxCount} (0 means 1)"));
            }
            var observed = report.ObservedAt?.ToDateTimeOffset() ?? now;
            if (observed > now + AllowedSkew)
            {
                violations.Add(new(field + ".observed_at", $"is {observed:O}, in the future of the hub's clock ({now:O})"));
            }
            rows.Add(new MatchOutcomeEntity
            {
                MemberId = caller.MemberId,
                BatchKey = request.IdempotencyKey,
                Ordinal = i,
                SignalId = signalId,
                Outcome = (MatchOutcome)(int)report.Outcome,
                Count = Math.Max(1, report.Count),
                ObservedAt = observed,
                ReportedAt = now,
            });
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }
        return rows;
    }
}
