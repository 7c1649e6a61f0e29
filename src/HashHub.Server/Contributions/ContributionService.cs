using HashHub.Server.Signals;
using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf;
using HashHub.Server.Audit;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Contributions;

/// <summary>The rules of contributing, retracting and relabelling signals.</summary>
internal sealed class ContributionService(HubDbContext db, ChangeLog changeLog, MemberDirectory members, TimeProvider time, IOptions<HubOptions> options)
{
    public async Task<Proto.SubmitContributionsResponse> SubmitAsync(Caller caller, Proto.SubmitContributionsRequest request, CancellationToken cancellationToken)
    {
        var labels = await LoadLabelsAsync(cancellationToken);
        var items = new ContributionValidator(options.Value, labels).Validate(request);
        var requestHash = SHA256.HashData(request.ToByteArray());

        return await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var previous = await db.IdempotencyRecords.AsNoTracking()
                .FirstOrDefaultAsync(r => r.MemberId == caller.MemberId && r.Key == request.IdempotencyKey, ct);
            if (previous is not null)
            {
                if (!previous.RequestHash.AsSpan().SequenceEqual(requestHash))
                {
                    throw new RequestValidationException("idempotency_key", "was already used for a different batch; choose a new key for new contributions");
                }
                var replay = Proto.SubmitContributionsResponse.Parser.ParseFrom(previous.Response);
                replay.Replayed = true;
                return replay;
            }

            var now = time.GetUtcNow();
            // New signals go in first, in one statement that skips those already stored (EF Core's tracking costs
            // more than the inserts at these batch sizes); the stored ones are then loaded, tracked, to be updated.
            var bulk = BulkWriter.For(db);
            var candidates = new List<SignalEntity>(items.Count);
            foreach (var item in items)
            {
                candidates.Add(new SignalEntity { Type = item.Type.Name, Value = item.Value, Quality = item.Quality, Status = SignalStatus.Active, CreatedAt = now, UpdatedAt = now });
            }
            await bulk.InsertMissingSignalsAsync(candidates, ct);
            var stored = await LoadExistingAsync(candidates.Where(c => c.Id == 0).ToList(), ct);
            var mine = stored.Count == 0
                ? new Dictionary<long, ContributionEntity>()
                : await ActiveContributionsOf(caller.MemberId, stored.Values.Select(s => s.Id).ToList()).ToDictionaryAsync(c => c.SignalId, ct);

            var outcomes = new List<(SignalEntity Signal, ContributionEntity Contribution, bool Created, bool Updated)>(items.Count);
            var newContributions = new List<ContributionEntity>(items.Count);
            for (var i = 0; i < items.Count; i++)
            {
                var item = items[i];
                var signal = candidates[i];
                var created = signal.Id != 0;
                if (created)
                {
                    batch.Record(signal, ChangeKind.Created);
                }
                else
                {
                    signal = stored.GetValueOrDefault((item.Type.Name, item.Value))
                        ?? throw new InvalidOperationException($"Signal {item.Type.Name} {item.Value} was neither inserted nor found; signals are never deleted.");
                    if (signal.Status == SignalStatus.Retracted)
                    {
                        // A retracted signal contributed again is live again for everyone.
                        signal.Status = SignalStatus.Active;
                    }
                }

                if (!created && mine.TryGetValue(signal.Id, out var existing))
                {
                    if (Apply(existing, item, now))
                    {
                        signal.UpdatedAt = now;
                        batch.Record(signal, ChangeKind.Updated);
                    }
                    outcomes.Add((signal, existing, false, true));
                    continue;
                }

                var contribution = new ContributionEntity { MemberId = caller.MemberId, SignalId = signal.Id, Status = ContributionStatus.Active, ContributedAt = now };
                Apply(contribution, item, now);
                newContributions.Add(contribution);
                if (!created)
                {
                    signal.UpdatedAt = now;
                    batch.Record(signal, ChangeKind.Updated);
                }
                outcomes.Add((signal, contribution, created, false));
            }

            await bulk.InsertContributionsAsync(newContributions, ct);
            await db.SaveChangesAsync(ct);

            var response = new Proto.SubmitContributionsResponse();
            response.Results.AddRange(outcomes.Select(o => new Proto.ContributionResult
            {
                SignalId = Id(o.Signal.Id),
                ContributionId = Id(o.Contribution.Id),
                SignalCreated = o.Created,
                UpdatedExisting = o.Updated,
            }));
            batch.Audit(new AuditRecord(caller.MemberId, caller.ClientId, "contribution.submit", request.IdempotencyKey, new
            {
                Items = items.Count,
                SignalsCreated = outcomes.Count(o => o.Created),
                ContributionsAdded = newContributions.Count,
                ContributionsUpdated = outcomes.Count(o => o.Updated),
                // SHA-256 of the request as sent: whoever kept the batch can prove what this entry covers.
                RequestSha256 = Convert.ToHexStringLower(requestHash),
            }));
            db.IdempotencyRecords.Add(new IdempotencyRecord
            {
                MemberId = caller.MemberId,
                Key = request.IdempotencyKey,
                RequestHash = requestHash,
                Response = response.ToByteArray(),
                CreatedAt = now,
            });
            return response;
        }, cancellationToken);
    }

    public async Task<Proto.SignalRecord> GetAsync(Proto.GetSignalRequest request, CancellationToken cancellationToken)
    {
        long id;
        switch (request.KeyCase)
        {
            case Proto.GetSignalRequest.KeyOneofCase.SignalId:
                id = ParseId(request.SignalId, "signal_id");
                break;
            case Proto.GetSignalRequest.KeyOneofCase.Signal:
                var type = Signals.SignalTypeMap.ToCore(request.Signal.Type)
                    ?? throw new RequestValidationException("signal.type", $"must be one of {SignalTypeMap.Accepted}");
                if (!type.TryNormalize(request.Signal.Value, out var value, out var error))
                {
                    throw new RequestValidationException("signal.value", $"{type.Name} value {error}");
                }
                id = await db.Signals.Where(s => s.Type == type.Name && s.Value == value).Select(s => s.Id).FirstOrDefaultAsync(cancellationToken);
                if (id == 0)
                {
                    throw new NotFoundException($"No {type.Name} signal {value} is known to the hub.");
                }
                break;
            default:
                throw new RequestValidationException("key", "set signal_id or signal");
        }
        return await LoadRecordAsync(id, cancellationToken) ?? throw new NotFoundException($"No signal {id} is known to the hub.");
    }

    public async Task<Proto.SignalRecord> RetractAsync(Caller caller, Proto.RetractContributionRequest request, CancellationToken cancellationToken)
    {
        var id = ParseId(request.ContributionId, "contribution_id");
        if (request.Reason.Length > ContributionValidator.MaxNote)
        {
            throw new RequestValidationException("reason", $"is {request.Reason.Length} characters long; the most is {ContributionValidator.MaxNote}");
        }
        var signalId = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var contribution = await FindOwnAsync(caller, id, ct);
            if (contribution.Status == ContributionStatus.Retracted)
            {
                return contribution.SignalId; // Retracting twice is a no-op, so retries are safe.
            }
            var now = time.GetUtcNow();
            contribution.Status = ContributionStatus.Retracted;
            contribution.RetractedAt = now;
            contribution.UpdatedAt = now;
            contribution.RetractReason = string.IsNullOrEmpty(request.Reason) ? null : request.Reason;
            var signal = await db.Signals.SingleAsync(s => s.Id == contribution.SignalId, ct);
            var othersActive = await db.Contributions.AnyAsync(c => c.SignalId == signal.Id && c.Id != id && c.Status == ContributionStatus.Active, ct);
            signal.UpdatedAt = now;
            if (othersActive)
            {
                batch.Record(signal, ChangeKind.Updated);
            }
            else
            {
                signal.Status = SignalStatus.Retracted;
                batch.Record(signal, ChangeKind.Retracted);
            }
            batch.Audit(new AuditRecord(caller.MemberId, caller.ClientId, "contribution.retract", Id(id),
                new { SignalId = Id(signal.Id), SignalRetracted = !othersActive, Reason = contribution.RetractReason }));
            return signal.Id;
        }, cancellationToken);
        return (await LoadRecordAsync(signalId, cancellationToken))!;
    }

    public async Task<Proto.Contribution> UpdateLabelsAsync(Caller caller, Proto.UpdateContributionLabelsRequest request, CancellationToken cancellationToken)
    {
        var id = ParseId(request.ContributionId, "contribution_id");
        var validator = new ContributionValidator(options.Value, await LoadLabelsAsync(cancellationToken));
        var labels = validator.ValidateLabels(request.Labels, "labels");
        validator.ThrowIfInvalid();
        var contributionId = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var contribution = await FindOwnAsync(caller, id, ct);
            if (contribution.Status != ContributionStatus.Active)
            {
                throw new PreconditionFailedException($"Contribution {id} is retracted; contribute the signal again instead.");
            }
            if (!contribution.Labels.SequenceEqual(labels))
            {
                var now = time.GetUtcNow();
                contribution.Labels = labels;
                contribution.UpdatedAt = now;
                var signal = await db.Signals.SingleAsync(s => s.Id == contribution.SignalId, ct);
                signal.UpdatedAt = now;
                batch.Record(signal, ChangeKind.Updated);
                batch.Audit(new AuditRecord(caller.MemberId, caller.ClientId, "contribution.relabel", Id(id), new { SignalId = Id(signal.Id), Labels = labels }));
            }
            return contribution.Id;
        }, cancellationToken);
        var stored = await db.Contributions.AsNoTracking().SingleAsync(c => c.Id == contributionId, cancellationToken);
        var names = await members.ForAsync(db, [stored.MemberId], cancellationToken);
        return ProtoMapper.ToProto(stored, names);
    }

    private async Task<ContributionEntity> FindOwnAsync(Caller caller, long id, CancellationToken ct)
    {
        var contribution = await db.Contributions.SingleOrDefaultAsync(c => c.Id == id, ct)
            ?? throw new NotFoundException($"No contribution {id} is known to the hub.");
        if (contribution.MemberId != caller.MemberId)
        {
            throw new PermissionDeniedException($"Contribution {id} belongs to another member; a member can only change its own contributions.");
        }
        return contribution;
    }

    private async Task<Proto.SignalRecord?> LoadRecordAsync(long id, CancellationToken cancellationToken)
    {
        var signals = await ChangeReader.LoadSignalsAsync(db, [id], cancellationToken);
        if (!signals.TryGetValue(id, out var signal))
        {
            return null;
        }
        return ProtoMapper.ToProto(signal, await members.ForAsync(db, [signal], cancellationToken));
    }

    private async Task<Dictionary<(string, string), SignalEntity>> LoadExistingAsync(IReadOnlyList<SignalEntity> keys, CancellationToken ct)
    {
        var result = new Dictionary<(string, string), SignalEntity>();
        foreach (var group in keys.GroupBy(k => k.Type))
        {
            var type = group.Key;
            var values = group.Select(k => k.Value).ToArray();
            await foreach (var s in SignalsByValue(type, values).AsAsyncEnumerable().WithCancellation(ct))
            {
                result[(s.Type, s.Value)] = s;
            }
        }
        return result;
    }

    // On PostgreSQL the lookups are spelled out as one index probe per value: with statistics that lag behind
    // bulk loads, the planner would otherwise hash the whole table for every batch, and ingest would slow down as
    // the hub grows. The LIMIT / OFFSET 0 keep PostgreSQL from flattening the LATERAL subquery into a plain join,
    // which it would then be free to plan that way again.

    private IQueryable<SignalEntity> SignalsByValue(string type, string[] values) => db.Provider == StorageProvider.Postgres
        ? db.Signals.FromSqlInterpolated($"""
            SELECT s.* FROM unnest({values}) AS v(value)
            CROSS JOIN LATERAL (SELECT * FROM signals WHERE "Type" = {type} AND "Value" = v.value LIMIT 1) s
            """)
        : db.Signals.Where(s => s.Type == type && values.Contains(s.Value));

    private IQueryable<ContributionEntity> ActiveContributionsOf(string memberId, List<long> signalIds) => db.Provider == StorageProvider.Postgres
        ? db.Contributions.FromSqlInterpolated($"""
            SELECT c.* FROM unnest({signalIds.ToArray()}) AS i(id)
            CROSS JOIN LATERAL (SELECT * FROM contributions WHERE "SignalId" = i.id AND "MemberId" = {memberId} AND "Status" = {(int)ContributionStatus.Active} OFFSET 0) c
            """)
        : db.Contributions.Where(c => signalIds.Contains(c.SignalId) && c.MemberId == memberId && c.Status == ContributionStatus.Active);

    private async Task<Dictionary<string, bool>> LoadLabelsAsync(CancellationToken cancellationToken) =>
        await db.Labels.AsNoTracking().ToDictionaryAsync(l => l.Key, l => l.Deprecated, StringComparer.Ordinal, cancellationToken);

    /// <summary>Copies an item's statement onto a contribution; true when anything changed.</summary>
    private static bool Apply(ContributionEntity c, ValidItem item, DateTimeOffset now)
    {
        var changed = !c.Labels.SequenceEqual(item.Labels) || c.SourceKind != item.SourceKind || c.IncidentId != item.IncidentId
            || c.CaseReference != item.CaseReference || c.Note != item.Note || c.Quality != item.Quality;
        if (changed)
        {
            c.Labels = item.Labels;
            c.SourceKind = item.SourceKind;
            c.IncidentId = item.IncidentId;
            c.CaseReference = item.CaseReference;
            c.Note = item.Note;
            c.Quality = item.Quality;
            c.UpdatedAt = now;
        }
        return changed;
    }

    internal static long ParseId(string text, string field) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0
            ? id
            : throw new RequestValidationException(field, string.IsNullOrEmpty(text) ? "is required" : $"'{(text.Length > 40 ? text[..40] : text)}' is not an id the hub issued");

    private static string Id(long id) => id.ToString(CultureInfo.InvariantCulture);
}
