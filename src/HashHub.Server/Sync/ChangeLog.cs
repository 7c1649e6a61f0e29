using HashHub.Server.Audit;
using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Sync;

/// <summary>
/// Runs write transactions that append to the change log, so that sequence order is commit order
/// (DESIGN.md invariant 2: no reader ever skips a change).
/// <para>
/// An identity column alone is not enough: a transaction can take number 10, another take 11 and commit,
/// a reader pass 11, and then 10 commit behind it. So the changes of a transaction are appended at its very
/// end, under a lock held until commit: PostgreSQL's transaction-scoped advisory lock, SQL Server's
/// transaction-owned app lock. Everything else the transaction does (signals, contributions) runs before the
/// lock, so the serialised part is one batched insert and the commit. SQLite has a single writer anyway;
/// there an in-process gate keeps write transactions from overlapping (a deferred SQLite transaction that
/// read before another committed cannot upgrade to a writer).
/// </para>
/// </summary>
public sealed class ChangeLog(TimeProvider time, ChangeNotifier notifier)
{
    /// <summary>PostgreSQL advisory lock key: "HASHHUB" as bytes, so it does not collide with other users.</summary>
    private const long AdvisoryLockKey = 0x48415348485542;
    private const int MaxAttempts = 5;

    private readonly SemaphoreSlim _sqliteWriteGate = new(1, 1);

    /// <summary>
    /// Runs <paramref name="work"/> in a transaction and appends the changes it recorded in the
    /// <see cref="WriteBatch"/>. Retries the whole unit when a concurrent writer won a uniqueness race (for
    /// example two members contributing the same new signal at once), so <paramref name="work"/> must only
    /// touch the database.
    /// </summary>
    public async Task<T> WriteAsync<T>(HubDbContext db, Func<WriteBatch, CancellationToken, Task<T>> work, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var gate = db.Provider == StorageProvider.Sqlite ? _sqliteWriteGate : null;
            if (gate is not null)
            {
                await gate.WaitAsync(cancellationToken);
            }
            try
            {
                await using var transaction = await db.Database.BeginTransactionAsync(cancellationToken);
                var batch = new WriteBatch();
                var result = await work(batch, cancellationToken);
                await db.SaveChangesAsync(cancellationToken);
                if (batch.Count > 0 || batch.AuditRecords.Count > 0)
                {
                    // The audit chain is appended under the same lock, so it never forks either.
                    var now = time.GetUtcNow();
                    var changes = batch.Entries.Select(e => new ChangeEntity { SignalId = e.Signal.Id, SignalType = e.Signal.Type, Kind = e.Kind, CommittedAt = now }).ToList();
                    var writer = BulkWriter.For(db);
                    if (writer is PostgresBulkWriter postgres)
                    {
                        // The notification is delivered at commit to every hub node sharing the database (PostgresChangeListener).
                        await postgres.AppendLogAsync(AdvisoryLockKey, changes, batch.AuditRecords, now, batch.Count > 0 ? PostgresChangeListener.Channel : null, cancellationToken);
                    }
                    else
                    {
                        await LockChangeLogAsync(db, cancellationToken);
                        await ((IChangeAppender)writer).AppendChangesAsync(changes, cancellationToken);
                        await AuditChain.AppendAsync(db, batch.AuditRecords, now, cancellationToken);
                    }
                    batch.Appended(db.AppendedChanges);
                }
                var appended = db.AppendedChanges;
                await transaction.CommitAsync(cancellationToken);
                if (batch.Count > 0)
                {
                    notifier.Notify(appended?.Last);
                }
                return result;
            }
            catch (Exception ex) when (attempt < MaxAttempts && IsUniqueViolation(ex))
            {
                db.TransactionAbandoned();
                db.ChangeTracker.Clear();
            }
            catch
            {
                db.TransactionAbandoned();
                db.ChangeTracker.Clear();
                throw;
            }
            finally
            {
                gate?.Release();
            }
        }
    }

    // PostgreSQL takes its lock in PostgresBulkWriter.AppendLogAsync, in the same round trip as the appends.
    private static Task LockChangeLogAsync(HubDbContext db, CancellationToken cancellationToken) => db.Provider switch
    {
        StorageProvider.SqlServer => db.Database.ExecuteSqlRawAsync(
            "EXEC sp_getapplock @Resource = N'hashhub_change_log', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = -1", cancellationToken),
        _ => Task.CompletedTask,
    };

    private static bool IsUniqueViolation(Exception ex) => (ex is DbUpdateException ? ex.InnerException : ex) switch
    {
        Npgsql.PostgresException pg => pg.SqlState is Npgsql.PostgresErrorCodes.UniqueViolation,
        Microsoft.Data.Sqlite.SqliteException sqlite => sqlite.SqliteErrorCode == 19 && sqlite.SqliteExtendedErrorCode is 2067 or 1555,
        Microsoft.Data.SqlClient.SqlException sql => sql.Number is 2601 or 2627,
        _ => false,
    };
}

/// <summary>
/// What a write transaction will append: one change per signal it touched, in the order touched, and the
/// audit records of what it did.
/// </summary>
public sealed class WriteBatch
{
    private readonly Dictionary<SignalEntity, ChangeKind> _kinds = new(ReferenceEqualityComparer.Instance);
    private readonly List<SignalEntity> _order = [];
    private readonly List<AuditRecord> _audit = [];
    private List<Action<(long First, long Last)?>>? _afterAppend;

    public int Count => _order.Count;

    /// <summary>Makes room for <paramref name="signals"/> changes, when a write knows how many it will record.</summary>
    internal void EnsureCapacity(int signals)
    {
        _kinds.EnsureCapacity(signals);
        _order.EnsureCapacity(signals);
    }

    /// <summary>
    /// Runs <paramref name="action"/> right after the changes are appended, still in the transaction and under
    /// the log's lock, with the run of sequence numbers they drew (<see cref="HubDbContext.AppendedChanges"/>).
    /// Not run when the batch appends no change.
    /// </summary>
    internal void AfterAppend(Action<(long First, long Last)?> action) => (_afterAppend ??= []).Add(action);

    internal void Appended((long First, long Last)? run)
    {
        if (Count == 0)
        {
            return;
        }
        foreach (var action in _afterAppend ?? [])
        {
            action(run);
        }
    }

    internal IReadOnlyList<AuditRecord> AuditRecords => _audit;

    /// <summary>Records an action in the audit log, committed with the transaction or not at all.</summary>
    public void Audit(AuditRecord record) => _audit.Add(record);

    internal IEnumerable<(SignalEntity Signal, ChangeKind Kind)> Entries => _order.Select(s => (s, _kinds[s]));

    /// <summary>
    /// Records that <paramref name="signal"/> changed. One change per signal per transaction: a signal created
    /// and then updated in the same transaction is one <see cref="ChangeKind.Created"/>; the change carries the
    /// signal's state at read time, so the latest kind that describes it wins otherwise.
    /// </summary>
    public void Record(SignalEntity signal, ChangeKind kind)
    {
        if (_kinds.TryGetValue(signal, out var existing))
        {
            _kinds[signal] = existing == ChangeKind.Created && kind == ChangeKind.Updated ? ChangeKind.Created : kind;
            return;
        }
        _kinds[signal] = kind;
        _order.Add(signal);
    }
}
