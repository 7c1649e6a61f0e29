using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Matching;

/// <summary>
/// Feeds <see cref="HubMatchIndex"/> from the change log: at start it reads the whole log in pages, then it tails
/// it, woken by <see cref="ChangeNotifier"/> on commits of this node and of other nodes sharing PostgreSQL, and
/// polling as a fallback. Reading by sequence number up to what is visible is safe because appends to the log
/// are serialised until commit (DESIGN.md invariant 2): no lower number can commit later. The runs of the log
/// that this node's contributions committed are applied as posted (<see cref="LocalChanges"/>) rather than read
/// back, which was about a tenth of PostgreSQL's work during bulk ingest. Past those runs it reads the log only
/// when a commit was announced beyond them (<see cref="ChangeNotifier.AnnouncedHead"/>), when an announcement named
/// no head, at start, and at each poll.
/// </summary>
internal sealed partial class MatchIndexFeeder(
    IServiceScopeFactory scopes, HubMatchIndex index, LocalChanges local, ChangeNotifier notifier, HubOptions options, ILogger<MatchIndexFeeder> logger) : BackgroundService
{
    private const int PageSize = 10_000;

    /// <summary>
    /// How long the feeder waits for a reserved run (<see cref="LocalChanges.Reserve"/>) to be posted before it
    /// reads the run from the log instead: a commit and its post take milliseconds, so this is only reached when
    /// the writer is stuck, and it bounds the delay that costs the index.
    /// </summary>
    internal static readonly TimeSpan ReservationWait = TimeSpan.FromMilliseconds(500);

    private long _rowsRead;
    private long _reads;
    private long _reservationTimeouts;

    // Whether the next catch-up must read the log to its end whatever was announced (at start, after a poll or a
    // failure), and the notifier's count of heads not named when it last did (ChangeNotifier.UnknownHeads).
    private bool _mustRead = true;
    private long _unknownHeadsRead;

    /// <summary>Changes read back from the log since start (the ones not applied as posted), for tests and diagnostics.</summary>
    internal long RowsRead => Interlocked.Read(ref _rowsRead);

    /// <summary>Queries of the log since start (each page read, empty ones included), for tests and diagnostics.</summary>
    internal long Reads => Interlocked.Read(ref _reads);

    /// <summary>Waits for a reserved run that ended in <see cref="ReservationWait"/> without its post, since start.</summary>
    internal long ReservationTimeouts => Interlocked.Read(ref _reservationTimeouts);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                var wake = notifier.NextAsync();
                var applied = await CatchUpAsync(stoppingToken);
                if (!index.IsReady)
                {
                    index.MarkReady();
                    LogLoaded(logger, index.Count, index.Position);
                }
                if (applied == 0)
                {
                    try
                    {
                        await wake.WaitAsync(options.SubscriptionPollInterval, stoppingToken);
                    }
                    catch (TimeoutException)
                    {
                        // A poll: read the log whatever was announced, in case a notification was lost.
                        _mustRead = true;
                    }
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // The database may be restarting; the index keeps answering from what it holds meanwhile.
                _mustRead = true;
                LogFeedFailed(logger, ex, index.Position);
                await Task.Delay(TimeSpan.FromSeconds(1), stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>Applies every committed change after the index's position; returns how many it applied.</summary>
    /// <remarks>
    /// Runs this node posted (<see cref="LocalChanges"/>) are applied as posted; only what lies between them is
    /// read back. That is safe for the same reason as the plain read: a posted run committed under the log's lock,
    /// so every number below its first is final by the time it is posted, and a read bounded by it misses nothing.
    /// A run's signals carry their state as of its commit, so applying it keeps the index as the log stood at the
    /// run's end, and a run the feeder has already read past is dropped.
    /// </remarks>
    private async Task<int> CatchUpAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var total = 0;
        var pending = new List<LocalChanges.Commit>();
        var next = 0;
        LocalChanges.Reservation? timedOut = null;
        while (true)
        {
            if (next == pending.Count)
            {
                pending = local.TakeAll();
                next = 0;
            }
            var after = index.Position;
            var run = next < pending.Count ? pending[next] : null;
            if (run is not null && run.Last <= after)
            {
                next++; // Read already (posted after the feeder got there).
                continue;
            }
            if (run is not null && run.First <= after + 1)
            {
                total += await ApplyAsync(db, run, cancellationToken);
                next++;
                continue;
            }
            if (local.ReservationCovering(after + 1) is { } reserved && reserved != timedOut)
            {
                // The next change belongs to a run a writer of this node appended and will post right after its
                // commit; PostgreSQL's notification of the commit (or a later run, posted first) can wake the
                // feeder sooner. Rather than read the run back, wait for the post (or the writer's release).
                try
                {
                    await reserved.Settled.WaitAsync(ReservationWait, cancellationToken);
                }
                catch (TimeoutException)
                {
                    timedOut = reserved;
                    Interlocked.Increment(ref _reservationTimeouts);
                }
                (pending, next) = (Merge(pending, next, local.TakeAll()), 0);
                continue;
            }
            if (local.TakeAll() is { Count: > 0 } late)
            {
                // Posted since the last take: a run is queued before its reservation is settled, so a run that
                // was reserved a moment ago is in the queue now.
                (pending, next) = (Merge(pending, next, late), 0);
                continue;
            }
            if (run is null && !_mustRead && notifier.UnknownHeads == _unknownHeadsRead && notifier.AnnouncedHead <= after)
            {
                // Every commit announced so far, on this node or another, is applied: a read would find nothing.
                // One announced later wakes the feeder again. (With 4 writers this was nearly two empty reads of
                // the log per ingested batch.)
                return total;
            }
            // A local run reserved and committed while this read is on its way is still read back: measured with 4
            // writers, 5% of the ingested changes, against 22% with a fixed 2 ms wait for posts instead of reservations.
            var unknownHeads = notifier.UnknownHeads;
            var page = await ReadPageAsync(db, after, run?.First ?? long.MaxValue, cancellationToken);
            Interlocked.Increment(ref _reads);
            foreach (var row in page)
            {
                index.Apply(row.SignalId, row.Type, row.Value, row.Status == SignalStatus.Active);
            }
            if (page.Count > 0)
            {
                index.Advance(page[^1].Seq);
                total += page.Count;
                Interlocked.Add(ref _rowsRead, page.Count);
            }
            if (page.Count < PageSize)
            {
                if (run is null)
                {
                    // Read to the end: whatever was announced before the read is in the index now.
                    (_mustRead, _unknownHeadsRead) = (false, unknownHeads);
                    return total;
                }
                // Nothing else lies before the run.
                total += await ApplyAsync(db, run, cancellationToken);
                next++;
            }
        }
    }

    /// <summary>The runs not applied yet (from <paramref name="next"/> on) with those taken since, lowest first.</summary>
    private static List<LocalChanges.Commit> Merge(List<LocalChanges.Commit> pending, int next, List<LocalChanges.Commit> taken) =>
        [.. pending.Skip(next).Concat(taken).OrderBy(c => c.First)];

    private async Task<int> ApplyAsync(HubDbContext db, LocalChanges.Commit run, CancellationToken cancellationToken)
    {
        foreach (var s in run.Known)
        {
            index.Apply(s.Id, s.Type, s.Value, s.Active);
        }
        if (run.Reread.Count > 0)
        {
            // Their current state, as a read of the log would apply it.
            var ids = run.Reread.ToArray();
            foreach (var row in await db.Signals.AsNoTracking().Where(s => ids.Contains(s.Id)).Select(s => new { s.Id, s.Type, s.Value, s.Status }).ToListAsync(cancellationToken))
            {
                index.Apply(row.Id, row.Type, row.Value, row.Status == SignalStatus.Active);
            }
        }
        index.Advance(run.Last);
        return (int)(run.Last - run.First + 1);
    }

    /// <summary>
    /// The next page of changes after <paramref name="after"/> and below <paramref name="before"/>, with their
    /// signals' current state, not their state at the change: applying it is idempotent, and the last change of a
    /// signal leaves the index as the signal is now.
    /// </summary>
    private static async Task<List<FeedRow>> ReadPageAsync(HubDbContext db, long after, long before, CancellationToken cancellationToken)
    {
        if (db.Provider == StorageProvider.Postgres)
        {
            // Spelled out as one index walk of the log plus one primary-key lookup per change (as in ChangeReader):
            // the plain join below is planned by PostgreSQL, whose statistics lag behind a bulk load, as a hash
            // join over the whole signals table for every page, which made the feed quadratic in the log's size
            // while members contributed in bulk. LIMIT 1 keeps the lateral subquery from being flattened back.
            var stored = await db.Database.SqlQuery<StoredFeedRow>($"""
                SELECT c."Seq", s."Id" AS "SignalId", s."Type", s."Value", s."Status"
                FROM (SELECT "Seq", "SignalId" FROM changes WHERE "Seq" > {after} AND "Seq" < {before} ORDER BY "Seq" LIMIT {PageSize}) c
                CROSS JOIN LATERAL (SELECT "Id", "Type", "Value", "Status" FROM signals WHERE "Id" = c."SignalId" LIMIT 1) s
                ORDER BY c."Seq"
                """).ToListAsync(cancellationToken);
            return stored.ConvertAll(r => new FeedRow(r.Seq, r.SignalId, r.Type, StoredSignalValue.Decode(r.Value), r.Status));
        }
        return await (
            from c in db.Changes.AsNoTracking()
            where c.Seq > after && c.Seq < before
            join s in db.Signals.AsNoTracking() on c.SignalId equals s.Id
            orderby c.Seq
            select new FeedRow(c.Seq, s.Id, s.Type, s.Value, s.Status))
            .Take(PageSize)
            .ToListAsync(cancellationToken);
    }

    /// <summary>A change's sequence number with its signal's current state.</summary>
    internal sealed record FeedRow(long Seq, long SignalId, string Type, string Value, SignalStatus Status);

    /// <summary>A <see cref="FeedRow"/> as PostgreSQL returns it, the value as stored (<see cref="StoredSignalValue"/>).</summary>
    internal sealed record StoredFeedRow(long Seq, long SignalId, string Type, byte[] Value, SignalStatus Status);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Match index loaded: {Count} active signals, log position {Position}.")]
    private static partial void LogLoaded(ILogger logger, int count, long position);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Match index feed failed at log position {Position}; retrying in a second.")]
    private static partial void LogFeedFailed(ILogger logger, Exception ex, long position);
}
