using HashHub.Server.Signals;
using System.Globalization;
using System.Security.Cryptography;
using Google.Protobuf;
using HashHub.Server.Audit;
using HashHub.Server.Errors;
using HashHub.Server.Matching;
using HashHub.Server.Membership;
using HashHub.Server.Probation;
using HashHub.Server.Sharing;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Contributions;

/// <summary>The rules of contributing, retracting and relabelling signals.</summary>
internal sealed class ContributionService(
    HubDbContext db, ChangeLog changeLog, MemberDirectory members, HeldContributions heldContributions, LocalChanges localChanges, TimeProvider time,
    IOptions<HubOptions> options)
{
    private const string ScopeChanged = "sharing scope changed";

    // The queries every submission runs, compiled (CompiledQuery).

    private static readonly CompiledQuery<Func<HubDbContext, string, string, CancellationToken, Task<IdempotencyRecord?>>> PreviousSubmission = new(() => EF.CompileAsyncQuery(
        (HubDbContext db, string memberId, string key, CancellationToken ct) => db.IdempotencyRecords.AsNoTracking().FirstOrDefault(r => r.MemberId == memberId && r.Key == key)));

    private static readonly CompiledQuery<Func<HubDbContext, string, CancellationToken, Task<bool>>> IsOnProbation = new(() => EF.CompileAsyncQuery(
        (HubDbContext db, string memberId, CancellationToken ct) => db.Members.AsNoTracking().Where(m => m.Id == memberId).Select(m => m.OnProbation).FirstOrDefault()));

    private static readonly CompiledQuery<Func<HubDbContext, IAsyncEnumerable<LabelEntity>>> AllLabels = new(() => EF.CompileAsyncQuery(
        (HubDbContext db) => db.Labels.AsNoTracking()));

    public async Task<Proto.SubmitContributionsResponse> SubmitAsync(Caller caller, Proto.SubmitContributionsRequest request, CancellationToken cancellationToken)
    {
        var labels = await LoadLabelsAsync(cancellationToken);
        var items = new ContributionValidator(options.Value, labels).Validate(request);
        await ValidateSharingGroupsAsync(caller, request, cancellationToken);
        var requestHash = HashOf(request);
        var probationMode = options.Value.Probation;

        return await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            batch.EnsureCapacity(items.Count);
            var previous = await PreviousSubmission.For(db)(db, caller.MemberId, request.IdempotencyKey, ct);
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
            var signals = await LoadExistingAsync(candidates.Where(c => c.Id == 0).ToList(), ct);
            var signalIds = signals.Values.Select(s => s.Id).ToList();
            var mine = signalIds.Count == 0
                ? new Dictionary<long, ContributionEntity>()
                : await ActiveContributionsOf(caller.MemberId, signalIds).ToDictionaryAsync(c => c.SignalId, ct);
            await Sharing.Visibility.LoadGroupsAsync(db, mine.Values, ct);

            // Probation: the caller's new contributions are held, except (confirmation mode) on signals that a
            // member not on probation already vouched for with a released contribution.
            var onProbation = probationMode != ProbationMode.Off && await IsOnProbation.For(db)(db, caller.MemberId, ct);
            var confirmed = onProbation && probationMode == ProbationMode.Confirmation && signalIds.Count > 0
                ? (await db.Contributions.AsNoTracking()
                    .Where(c => signalIds.Contains(c.SignalId) && c.MemberId != caller.MemberId && c.Status == ContributionStatus.Active
                        && (c.Visibility == ContributionVisibility.AllMembers || c.Visibility == ContributionVisibility.Groups))
                    .Select(c => c.SignalId).Distinct().ToListAsync(ct)).ToHashSet()
                : [];
            var retractedForScope = 0;

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
                    signal = signals.GetValueOrDefault((item.Type.Name, item.Value))
                        ?? throw new InvalidOperationException($"Signal {item.Type.Name} {item.Value} was neither inserted nor found; signals are never deleted.");
                    if (signal.Status == SignalStatus.Retracted)
                    {
                        // A retracted signal contributed again is live again for everyone.
                        signal.Status = SignalStatus.Active;
                    }
                }

                if (!created && mine.TryGetValue(signal.Id, out var existing))
                {
                    if (existing.SharingGroupIds.SequenceEqual(item.SharingGroupIds))
                    {
                        if (Apply(existing, item, now))
                        {
                            signal.UpdatedAt = now;
                            batch.Record(signal, ChangeKind.Updated);
                        }
                        outcomes.Add((signal, existing, false, true));
                        continue;
                    }
                    // A new sharing scope is a new contribution: the old one is retracted (and stays visible, as
                    // retracted, to whoever saw it), so members that may no longer see it receive a tombstone.
                    existing.Status = ContributionStatus.Retracted;
                    existing.RetractedAt = now;
                    existing.UpdatedAt = now;
                    existing.RetractReason = ScopeChanged;
                    retractedForScope++;
                }

                var contribution = new ContributionEntity
                {
                    MemberId = caller.MemberId,
                    SignalId = signal.Id,
                    Status = ContributionStatus.Active,
                    ContributedAt = now,
                    SharingGroupIds = item.SharingGroupIds,
                    Visibility = onProbation && !confirmed.Contains(signal.Id) ? ContributionVisibility.Held
                        : item.SharingGroupIds.Length > 0 ? ContributionVisibility.Groups
                        : ContributionVisibility.AllMembers,
                };
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
            await StoreScopesAsync(newContributions, ct);
            await db.SaveChangesAsync(ct);
            var released = !onProbation && probationMode == ProbationMode.Confirmation
                ? await heldContributions.ReleaseConfirmedAsync(batch, caller, signals.Values.ToDictionary(s => s.Id), ct)
                : 0;

            var response = new Proto.SubmitContributionsResponse();
            response.Results.AddRange(outcomes.Select(o => new Proto.ContributionResult
            {
                SignalId = Id(o.Signal.Id),
                ContributionId = Id(o.Contribution.Id),
                SignalCreated = o.Created,
                UpdatedExisting = o.Updated,
                Held = o.Contribution.Visibility == ContributionVisibility.Held,
            }));
            batch.Audit(new AuditRecord(caller.MemberId, caller.ClientId, "contribution.submit", request.IdempotencyKey, new
            {
                Items = items.Count,
                SignalsCreated = outcomes.Count(o => o.Created),
                ContributionsAdded = newContributions.Count,
                ContributionsUpdated = outcomes.Count(o => o.Updated),
                ContributionsHeld = newContributions.Count(n => n.Visibility == ContributionVisibility.Held),
                ContributionsScopedToGroups = newContributions.Count(n => n.SharingGroupIds.Length > 0),
                RetractedForNewScope = retractedForScope,
                ReleasedByConfirmation = released,
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
            PostToMatchIndexAfterCommit(batch);
            return response;
        }, cancellationToken);
    }

    /// <summary>
    /// Once the batch has committed, hands its run of the change log to this node's match index, so that the
    /// feeder need not read it back (<see cref="LocalChanges"/>). The signals this transaction inserted are
    /// posted with their state; any other it touched is only named, since a concurrent transaction may have set
    /// its state after this one read it, and the feeder reads it. Nothing is posted when the bulk writer could
    /// not vouch for the run's numbers; the feeder then reads the run like any other.
    /// </summary>
    private void PostToMatchIndexAfterCommit(WriteBatch batch)
    {
        if (batch.Count == 0)
        {
            return;
        }
        var known = new List<LocalChanges.SignalState>(batch.Count);
        var reread = new List<long>();
        foreach (var (signal, kind) in batch.Entries)
        {
            // A change recorded as created is of a signal this transaction inserted (WriteBatch.Record keeps it so).
            if (kind == ChangeKind.Created)
            {
                known.Add(new(signal.Id, signal.Type, signal.Value, signal.Status == SignalStatus.Active));
            }
            else
            {
                reread.Add(signal.Id);
            }
        }
        var count = batch.Count;
        batch.AfterAppend(appended =>
        {
            if (appended is not { } run || run.Last - run.First + 1 != count)
            {
                return;
            }
            // Reserved before the commit, so that the feeder waits for the post rather than read the run back.
            localChanges.Reserve(run.First, run.Last);
            db.AfterCommit(() => localChanges.Post(run.First, run.Last, known, reread));
            db.AfterAbandon(() => localChanges.Release(run.First));
        });
    }

    public async Task<Proto.SignalRecord> GetAsync(Caller caller, Proto.GetSignalRequest request, CancellationToken cancellationToken)
    {
        long id;
        string notFound;
        switch (request.KeyCase)
        {
            case Proto.GetSignalRequest.KeyOneofCase.SignalId:
                id = ParseId(request.SignalId, "signal_id");
                notFound = $"No signal {id} is known to the hub.";
                break;
            case Proto.GetSignalRequest.KeyOneofCase.Signal:
                var type = Signals.SignalTypeMap.ToCore(request.Signal.Type)
                    ?? throw new RequestValidationException("signal.type", $"must be one of {SignalTypeMap.Accepted}");
                if (!type.TryNormalize(request.Signal.Value, out var value, out var error))
                {
                    throw new RequestValidationException("signal.value", $"{type.Name} value {error}");
                }
                id = await db.Signals.Where(s => s.Type == type.Name && s.Value == value).Select(s => s.Id).FirstOrDefaultAsync(cancellationToken);
                notFound = $"No {type.Name} signal {value} is known to the hub.";
                break;
            default:
                throw new RequestValidationException("key", "set signal_id or signal");
        }
        // A signal with nothing the caller may see answers exactly as an unknown one: a hash shared within a
        // group, or held for review, does not leak to others.
        return (id == 0 ? null : await LoadRecordAsync(id, caller, cancellationToken)) ?? throw new NotFoundException(notFound);
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
        return (await LoadRecordAsync(signalId, caller, cancellationToken))!;
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
        await Sharing.Visibility.LoadGroupsAsync(db, [stored], cancellationToken);
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

    /// <summary>The signal as <paramref name="caller"/> may see it; null when it may see none of its contributions.</summary>
    private async Task<Proto.SignalRecord?> LoadRecordAsync(long id, Caller caller, CancellationToken cancellationToken)
    {
        var signal = await db.Signals.AsNoTracking().SingleOrDefaultAsync(s => s.Id == id, cancellationToken);
        if (signal is null)
        {
            return null;
        }
        signal.Contributions.AddRange(await db.Contributions.AsNoTracking().Where(c => c.SignalId == id)
            .VisibleTo(db, Sharing.Visibility.ViewerOf(caller)).OrderBy(c => c.Id).ToListAsync(cancellationToken));
        if (signal.Contributions.Count == 0)
        {
            return null;
        }
        await Sharing.Visibility.LoadGroupsAsync(db, signal.Contributions, cancellationToken);
        return ProtoMapper.ToProto(signal, await members.ForAsync(db, [signal], cancellationToken));
    }

    /// <summary>
    /// Every group named must exist and hold the caller (admins may name any group). One answer for both, so
    /// that a member cannot probe which group ids exist.
    /// </summary>
    private async Task ValidateSharingGroupsAsync(Caller caller, Proto.SubmitContributionsRequest request, CancellationToken cancellationToken)
    {
        var named = request.Items.SelectMany(i => i.SharingGroupIds).Distinct(StringComparer.Ordinal).ToList();
        if (named.Count == 0)
        {
            return;
        }
        var allowed = (caller.IsAdmin
            ? await db.SharingGroups.Where(g => named.Contains(g.Id)).Select(g => g.Id).ToListAsync(cancellationToken)
            : await db.SharingGroupMembers.Where(m => m.MemberId == caller.MemberId && named.Contains(m.GroupId)).Select(m => m.GroupId).ToListAsync(cancellationToken))
            .ToHashSet(StringComparer.Ordinal);
        var violations = new List<FieldViolation>();
        for (var i = 0; i < request.Items.Count && violations.Count < 100; i++)
        {
            for (var j = 0; j < request.Items[i].SharingGroupIds.Count; j++)
            {
                if (!allowed.Contains(request.Items[i].SharingGroupIds[j]))
                {
                    violations.Add(new($"items[{i}].sharing_group_ids[{j}]", "is not a sharing group the caller belongs to"));
                }
            }
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }
    }

    /// <summary>
    /// The bulk writers leave a new contribution's visibility at the column's default (every member); the rare
    /// others (scoped to groups, held) are set here, with their groups, in the same transaction.
    /// </summary>
    private async Task StoreScopesAsync(List<ContributionEntity> added, CancellationToken ct)
    {
        if (added.TrueForAll(c => c.Visibility == ContributionVisibility.AllMembers && c.SharingGroupIds.Length == 0))
        {
            return;
        }
        foreach (var group in added.Where(c => c.Visibility != ContributionVisibility.AllMembers).GroupBy(c => c.Visibility))
        {
            var ids = group.Select(c => c.Id).ToList();
            var visibility = group.Key;
            await db.Contributions.Where(c => ids.Contains(c.Id)).ExecuteUpdateAsync(u => u.SetProperty(c => c.Visibility, visibility), ct);
        }
        db.ContributionGroups.AddRange(added.SelectMany(c => c.SharingGroupIds.Select(g => new ContributionGroup { ContributionId = c.Id, GroupId = g })));
    }

    /// <summary>
    /// SHA-256 of the request as sent (its protobuf encoding), serialised into a pooled buffer: a batch of 1,000
    /// signals is about 150 KB, which as a fresh array would land on the large-object heap on every call.
    /// </summary>
    private static byte[] HashOf(IMessage request)
    {
        var size = request.CalculateSize();
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var span = buffer.AsSpan(0, size);
            request.WriteTo(span);
            return SHA256.HashData(span);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
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
            SELECT s.* FROM unnest({values.Select(StoredSignalValue.Encode).ToArray()}) AS v(value)
            CROSS JOIN LATERAL (SELECT * FROM signals WHERE "Type" = {type} AND "Value" = v.value LIMIT 1) s
            """)
        : db.Signals.Where(s => s.Type == type && values.Contains(s.Value));

    private IQueryable<ContributionEntity> ActiveContributionsOf(string memberId, List<long> signalIds) => db.Provider == StorageProvider.Postgres
        ? db.Contributions.FromSqlInterpolated($"""
            SELECT c.* FROM unnest({signalIds.ToArray()}) AS i(id)
            CROSS JOIN LATERAL (SELECT * FROM contributions WHERE "SignalId" = i.id AND "MemberId" = {memberId} AND "Status" = {(int)ContributionStatus.Active} OFFSET 0) c
            """)
        : db.Contributions.Where(c => signalIds.Contains(c.SignalId) && c.MemberId == memberId && c.Status == ContributionStatus.Active);

    private async Task<Dictionary<string, bool>> LoadLabelsAsync(CancellationToken cancellationToken)
    {
        var labels = new Dictionary<string, bool>(StringComparer.Ordinal);
        await foreach (var label in AllLabels.For(db)(db).WithCancellation(cancellationToken))
        {
            labels[label.Key] = label.Deprecated;
        }
        return labels;
    }

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
