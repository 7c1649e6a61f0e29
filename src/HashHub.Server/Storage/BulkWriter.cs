using System.Data.Common;
using HashHub.Server.Audit;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;

namespace HashHub.Server.Storage;

/// <summary>
/// Inserts the rows of a large batch (new signals, contributions, change-log entries) in the current
/// transaction without EF Core's per-entity change tracking, which costs far more than the inserts themselves
/// at 1,000-10,000 rows a batch. PostgreSQL gets one statement per table over arrays (unnest), so a batch costs
/// a round trip per table whatever its size; SQLite one prepared statement run per row (an in-process call, no
/// round trip); any other provider goes through EF Core. The rows are not tracked afterwards; their generated
/// keys are set on them.
/// </summary>
internal abstract class BulkWriter
{
    public static BulkWriter For(HubDbContext db) => db.Provider switch
    {
        StorageProvider.Postgres => new PostgresBulkWriter(db, OptimisticInserts.Shared),
        StorageProvider.Sqlite => new SqliteBulkWriter(db),
        _ => new EfBulkWriter(db),
    };

    /// <summary>
    /// Inserts those of <paramref name="candidates"/> (distinct by type and value) that are not stored yet and
    /// sets their ids. The others keep id 0: they are stored already, perhaps by a concurrent transaction that
    /// committed meanwhile, which a statement read afterwards sees. The candidates of one call share their status
    /// and times (one submission's).
    /// </summary>
    public abstract Task InsertMissingSignalsAsync(IReadOnlyList<SignalEntity> candidates, CancellationToken ct);

    /// <summary>
    /// Inserts contributions, at most one per signal in a call, and sets their ids. The contributions of one call
    /// share their member, status and times (one submission's).
    /// </summary>
    public abstract Task InsertContributionsAsync(IReadOnlyList<ContributionEntity> contributions, CancellationToken ct);

    internal static string JoinLabels(string[] labels) => string.Join(',', labels);

    /// <summary>
    /// The run of sequence numbers of <paramref name="expected"/> appended changes, when they are one unbroken run
    /// (an identity whose values a session caches, say, could leave holes): null otherwise.
    /// </summary>
    internal static (long First, long Last)? Run(long first, long last, long count, int expected) =>
        count == expected && count > 0 && last - first + 1 == count ? (first, last) : null;
}

/// <summary>
/// Appends change-log entries for a writer that took the log's lock separately. PostgreSQL's writer appends in
/// the same round trip as the lock instead (<see cref="PostgresBulkWriter.AppendLogAsync"/>).
/// </summary>
internal interface IChangeAppender
{
    /// <summary>Appends change-log entries; their sequence numbers follow the list's order.</summary>
    Task AppendChangesAsync(IReadOnlyList<ChangeEntity> changes, CancellationToken ct);
}

internal sealed class EfBulkWriter(HubDbContext db) : BulkWriter, IChangeAppender
{
    public override async Task InsertMissingSignalsAsync(IReadOnlyList<SignalEntity> candidates, CancellationToken ct)
    {
        var stored = new HashSet<(string, string)>();
        foreach (var group in candidates.GroupBy(c => c.Type))
        {
            var type = group.Key;
            var values = group.Select(c => c.Value).ToArray();
            foreach (var value in await db.Signals.Where(s => s.Type == type && values.Contains(s.Value)).Select(s => s.Value).ToListAsync(ct))
            {
                stored.Add((type, value));
            }
        }
        // A concurrent insert of the same signal makes SaveChanges fail on the unique index; ChangeLog retries.
        await SaveAsync(candidates.Where(c => !stored.Contains((c.Type, c.Value))).ToList(), ct);
    }

    public override Task InsertContributionsAsync(IReadOnlyList<ContributionEntity> contributions, CancellationToken ct) => SaveAsync(contributions, ct);

    public async Task AppendChangesAsync(IReadOnlyList<ChangeEntity> changes, CancellationToken ct)
    {
        await SaveAsync(changes, ct);
        db.AppendedChanges = changes.Count == 0 ? null : Run(changes[0].Seq, changes[^1].Seq, changes.Count, changes.Count);
    }

    private async Task SaveAsync<T>(IReadOnlyList<T> rows, CancellationToken ct)
        where T : class
    {
        db.Set<T>().AddRange(rows);
        await db.SaveChangesAsync(ct);
        foreach (var row in rows)
        {
            db.Entry(row).State = EntityState.Detached;
        }
    }
}

internal sealed class PostgresBulkWriter(HubDbContext db, OptimisticInserts optimistic) : BulkWriter
{
    // The columns a submission's rows share (member, status, times) go as one value each rather than an array:
    // fewer array elements for Npgsql to write and for PostgreSQL to take apart.

    private const string InsertSignals = """
        INSERT INTO signals ("Type", "Value", "Quality", "Status", "CreatedAt", "UpdatedAt")
        SELECT t, v, q, $4, $5, $6 FROM unnest($1, $2, $3) AS u(t, v, q) ORDER BY 1, 2
        """;

    /// <summary>
    /// Inserts the missing signals. Rows go in sorted, so two batches that share signals take their row locks in
    /// the same order and cannot deadlock. A batch of new signals goes in as a plain insert first, when the last
    /// batches did not meet stored ones: the unique index then checks each value in the same descent that inserts
    /// it, where ON CONFLICT DO NOTHING first looks each value up and then inserts it, a second walk down the
    /// largest index of the hub (measured on 900,000 signals: 11.2 instead of 14.8 ms per 1,000). A stored
    /// signal, or one a concurrent transaction committed meanwhile, fails that insert as a whole; it is rolled
    /// back to a savepoint and the batch goes in with ON CONFLICT DO NOTHING, which skips the stored signals and
    /// waits for a concurrent transaction inserting the same signal instead of failing.
    /// </summary>
    public override async Task InsertMissingSignalsAsync(IReadOnlyList<SignalEntity> candidates, CancellationToken ct)
    {
        if (candidates.Count == 0)
        {
            return;
        }
        // Rows come back keyed by their stored bytes, as sent: decoding each returned value to a string to look it
        // up would cost a string per signal.
        var stored = Column(candidates, s => StoredSignalValue.Encode(s.Value));
        var byKey = new Dictionary<(string, byte[]), SignalEntity>(candidates.Count, StoredKeyComparer.Instance);
        for (var i = 0; i < candidates.Count; i++)
        {
            byKey.Add((candidates[i].Type, stored[i]), candidates[i]);
        }
        // The savepoint needs a transaction; the hub's writes always run in one (ChangeLog.WriteAsync).
        if (db.Database.CurrentTransaction is not null && optimistic.ShouldTry())
        {
            await using var batch = Batch();
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SAVEPOINT hub_new_signals"));
            batch.BatchCommands.Add(SignalRows(InsertSignals + """ RETURNING "Id", "Type", "Value" """, candidates, stored));
            batch.BatchCommands.Add(new NpgsqlBatchCommand("RELEASE SAVEPOINT hub_new_signals"));
            try
            {
                await ReadIdsAsync(batch, byKey, ct);
                return;
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
            {
                optimistic.Conflicted();
                foreach (var s in candidates)
                {
                    s.Id = 0; // Rows the failed insert returned before the conflict were rolled back.
                }
                await using var rollback = Batch();
                rollback.BatchCommands.Add(new NpgsqlBatchCommand("ROLLBACK TO SAVEPOINT hub_new_signals"));
                rollback.BatchCommands.Add(new NpgsqlBatchCommand("RELEASE SAVEPOINT hub_new_signals"));
                await rollback.ExecuteNonQueryAsync(ct);
            }
        }
        await using var upsert = Batch();
        upsert.BatchCommands.Add(SignalRows(InsertSignals + """ ON CONFLICT ("Type", "Value") DO NOTHING RETURNING "Id", "Type", "Value" """, candidates, stored));
        await ReadIdsAsync(upsert, byKey, ct);
    }

    private static NpgsqlBatchCommand SignalRows(string sql, IReadOnlyList<SignalEntity> candidates, byte[][] stored) => Statement(sql,
        Column(candidates, s => s.Type), stored, Column(candidates, s => s.Quality),
        (int)Shared(candidates, s => s.Status), Shared(candidates, s => s.CreatedAt), Shared(candidates, s => s.UpdatedAt));

    private static async Task ReadIdsAsync(NpgsqlBatch batch, Dictionary<(string, byte[]), SignalEntity> byKey, CancellationToken ct)
    {
        await using var reader = await batch.ExecuteReaderAsync(ct);
        do
        {
            while (await reader.ReadAsync(ct))
            {
                byKey[(reader.GetString(1), reader.GetFieldValue<byte[]>(2))].Id = reader.GetInt64(0);
            }
        }
        while (await reader.NextResultAsync(ct));
    }

    public override async Task InsertContributionsAsync(IReadOnlyList<ContributionEntity> contributions, CancellationToken ct)
    {
        if (contributions.Count == 0)
        {
            return;
        }
        var bySignal = new Dictionary<long, ContributionEntity>(contributions.Count);
        foreach (var c in contributions)
        {
            if (!bySignal.TryAdd(c.SignalId, c))
            {
                throw new InvalidOperationException($"Two contributions to signal {c.SignalId} in one bulk insert.");
            }
        }
        // RETURNING gives the ids in no promised order, so they are matched back by signal.
        await using var command = Command("""
            INSERT INTO contributions ("SignalId", "MemberId", "Status", "Labels", "SourceKind", "IncidentId", "CaseReference", "Note", "Quality", "ContributedAt", "UpdatedAt")
            SELECT s, @member, @status, l, k, i, c, n, q, @contributed, @updated
            FROM unnest(@signal, @labels, @source, @incident, @case, @note, @quality) AS u(s, l, k, i, c, n, q)
            RETURNING "Id", "SignalId"
            """);
        Add(command, "signal", Column(contributions, c => c.SignalId));
        Add(command, "member", Shared(contributions, c => c.MemberId));
        Add(command, "status", (int)Shared(contributions, c => c.Status));
        Add(command, "labels", JoinedLabels(contributions));
        Add(command, "source", Column(contributions, c => c.SourceKind));
        Add(command, "incident", Column(contributions, c => c.IncidentId));
        Add(command, "case", Column(contributions, c => c.CaseReference));
        Add(command, "note", Column(contributions, c => c.Note));
        Add(command, "quality", Column(contributions, c => c.Quality));
        Add(command, "contributed", Shared(contributions, c => c.ContributedAt));
        Add(command, "updated", Shared(contributions, c => c.UpdatedAt));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            bySignal[reader.GetInt64(1)].Id = reader.GetInt64(0);
        }
    }

    /// <summary>
    /// The serialised end of a PostgreSQL write transaction in two round trips: take the change-log lock, append
    /// the changes and read the audit chain's head; then append the audit entries chained to it and queue the
    /// notification (delivered at commit). The lock is held until commit, so the fewer round trips under it, the
    /// more batches per second can commit.
    /// </summary>
    public async Task AppendLogAsync(long lockKey, IReadOnlyList<ChangeEntity> changes, IReadOnlyList<AuditRecord> audit, DateTimeOffset now, string? notifyChannel, CancellationToken ct)
    {
        byte[]? head = null;
        await using (var first = Batch())
        {
            first.BatchCommands.Add(Statement("SELECT pg_advisory_xact_lock($1)", lockKey));
            if (changes.Count > 0)
            {
                // Under the lock, so the identity values drawn here are the next ones to commit; the rows are
                // inserted in list order, so they are drawn in that order.
                // The run of numbers drawn comes back (not each number: the rows are many, the run is what the
                // local match index needs, see HubDbContext.AppendedChanges).
                first.BatchCommands.Add(Statement(
                    """
                    WITH appended AS (
                        INSERT INTO changes ("SignalId", "SignalType", "Kind", "CommittedAt")
                        SELECT s, t, k, $4 FROM unnest($1, $2, $3) WITH ORDINALITY AS u(s, t, k, n) ORDER BY n
                        RETURNING "Seq")
                    SELECT min("Seq") AS first_seq, max("Seq"), count(*) FROM appended
                    """,
                    Column(changes, c => c.SignalId), Column(changes, c => c.SignalType), Column(changes, c => (int)c.Kind), now));
            }
            if (audit.Count > 0)
            {
                first.BatchCommands.Add(Statement("""SELECT "Hash" AS audit_head FROM audit_log ORDER BY "Seq" DESC LIMIT 1"""));
            }
            await using var reader = await first.ExecuteReaderAsync(ct);
            do
            {
                while (await reader.ReadAsync(ct))
                {
                    if (reader.GetName(0) == "audit_head")
                    {
                        head = reader.GetFieldValue<byte[]>(0);
                    }
                    else if (reader.GetName(0) == "first_seq")
                    {
                        db.AppendedChanges = Run(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2), changes.Count);
                    }
                }
            }
            while (await reader.NextResultAsync(ct));
        }

        if (audit.Count == 0 && notifyChannel is null)
        {
            return;
        }
        await using var second = Batch();
        if (audit.Count > 0)
        {
            var entries = AuditChain.Link(head, audit, now);
            second.BatchCommands.Add(Statement(
                """
                INSERT INTO audit_log ("At", "ActorId", "ClientId", "Action", "Target", "Details", "PreviousHash", "Hash")
                SELECT a, b, c, d, e, f, g, h FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) WITH ORDINALITY AS u(a, b, c, d, e, f, g, h, n) ORDER BY n
                """,
                Column(entries, e => e.At), Column(entries, e => e.ActorId), Column(entries, e => e.ClientId), Column(entries, e => e.Action),
                Column(entries, e => e.Target), Column(entries, e => e.Details), Column(entries, e => e.PreviousHash), Column(entries, e => e.Hash)));
        }
        if (notifyChannel is not null)
        {
            // The payload is the last sequence number this transaction appends, when known (PostgresChangeListener).
            second.BatchCommands.Add(Statement("SELECT pg_notify($1, $2)", notifyChannel,
                db.AppendedChanges?.Last.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty));
        }
        await second.ExecuteNonQueryAsync(ct);
    }

    private static NpgsqlBatchCommand Statement(string sql, params object?[] values)
    {
        var command = new NpgsqlBatchCommand(sql);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }
        return command;
    }

    private NpgsqlBatch Batch() => new((NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());

    private NpgsqlCommand Command(string sql) => new(sql, (NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());

    private static T[] Column<TRow, T>(IReadOnlyList<TRow> rows, Func<TRow, T> value)
    {
        var column = new T[rows.Count];
        for (var i = 0; i < column.Length; i++)
        {
            column[i] = value(rows[i]);
        }
        return column;
    }

    /// <summary>The value every row has in a column the rows of one submission share.</summary>
    private static T Shared<TRow, T>(IReadOnlyList<TRow> rows, Func<TRow, T> value)
    {
        var first = value(rows[0]);
        for (var i = 1; i < rows.Count; i++)
        {
            if (!EqualityComparer<T>.Default.Equals(value(rows[i]), first))
            {
                throw new InvalidOperationException($"The rows of one bulk insert differ in a column they must share ({typeof(T).Name}).");
            }
        }
        return first;
    }

    /// <summary>Each contribution's labels as stored; a batch's contributions mostly share one array (see ContributionValidator), joined once.</summary>
    private static string[] JoinedLabels(IReadOnlyList<ContributionEntity> contributions)
    {
        string[]? last = null;
        var joined = string.Empty;
        return Column(contributions, c =>
        {
            if (!ReferenceEquals(c.Labels, last))
            {
                (last, joined) = (c.Labels, JoinLabels(c.Labels));
            }
            return joined;
        });
    }

    /// <summary>Keys of stored signals: the type, and the value's stored bytes compared by content.</summary>
    private sealed class StoredKeyComparer : IEqualityComparer<(string Type, byte[] Value)>
    {
        public static readonly StoredKeyComparer Instance = new();

        public bool Equals((string Type, byte[] Value) x, (string Type, byte[] Value) y) =>
            string.Equals(x.Type, y.Type, StringComparison.Ordinal) && x.Value.AsSpan().SequenceEqual(y.Value);

        public int GetHashCode((string Type, byte[] Value) key)
        {
            var hash = new HashCode();
            hash.Add(key.Type, StringComparer.Ordinal);
            hash.AddBytes(key.Value);
            return hash.ToHashCode();
        }
    }

    private static void Add<T>(NpgsqlCommand command, string name, T value) => command.Parameters.Add(new NpgsqlParameter<T>(name, value));
}

internal sealed class SqliteBulkWriter(HubDbContext db) : BulkWriter, IChangeAppender
{
    public override async Task InsertMissingSignalsAsync(IReadOnlyList<SignalEntity> candidates, CancellationToken ct)
    {
        if (candidates.Count == 0)
        {
            return;
        }
        // SQLite has one writer at a time, so "missing" cannot change under this transaction.
        await using var command = Command("""
            INSERT INTO signals ("Type", "Value", "Quality", "Status", "CreatedAt", "UpdatedAt") VALUES ($t, $v, $q, $s, $c, $u)
            ON CONFLICT ("Type", "Value") DO NOTHING RETURNING "Id"
            """, "$t", "$v", "$q", "$s", "$c", "$u");
        foreach (var s in candidates)
        {
            Set(command, s.Type, s.Value, s.Quality, (int)s.Status, s.CreatedAt.UtcTicks, s.UpdatedAt.UtcTicks);
            if (await command.ExecuteScalarAsync(ct) is long id)
            {
                s.Id = id;
            }
        }
    }

    public override async Task InsertContributionsAsync(IReadOnlyList<ContributionEntity> contributions, CancellationToken ct)
    {
        if (contributions.Count == 0)
        {
            return;
        }
        await using var command = Command("""
            INSERT INTO contributions ("SignalId", "MemberId", "Status", "Labels", "SourceKind", "IncidentId", "CaseReference", "Note", "Quality", "ContributedAt", "UpdatedAt")
            VALUES ($a, $b, $c, $d, $e, $f, $g, $h, $i, $j, $k) RETURNING "Id"
            """, "$a", "$b", "$c", "$d", "$e", "$f", "$g", "$h", "$i", "$j", "$k");
        foreach (var c in contributions)
        {
            Set(command, c.SignalId, c.MemberId, (int)c.Status, JoinLabels(c.Labels), c.SourceKind, c.IncidentId, c.CaseReference, c.Note, c.Quality,
                c.ContributedAt.UtcTicks, c.UpdatedAt.UtcTicks);
            c.Id = (long)(await command.ExecuteScalarAsync(ct))!;
        }
    }

    public async Task AppendChangesAsync(IReadOnlyList<ChangeEntity> changes, CancellationToken ct)
    {
        await using var command = Command("""
            INSERT INTO changes ("SignalId", "SignalType", "Kind", "CommittedAt") VALUES ($a, $b, $c, $d) RETURNING "Seq"
            """, "$a", "$b", "$c", "$d");
        long first = 0, last = 0;
        foreach (var c in changes)
        {
            Set(command, c.SignalId, c.SignalType, (int)c.Kind, c.CommittedAt.UtcTicks);
            last = (long)(await command.ExecuteScalarAsync(ct))!;
            first = first == 0 ? last : first;
        }
        db.AppendedChanges = Run(first, last, changes.Count, changes.Count);
    }

    private SqliteCommand Command(string sql, params string[] parameters)
    {
        var command = (SqliteCommand)db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        command.Transaction = (SqliteTransaction?)db.Database.CurrentTransaction?.GetDbTransaction();
        foreach (var name in parameters)
        {
            command.Parameters.Add(new SqliteParameter { ParameterName = name });
        }
        command.Prepare();
        return command;
    }

    private static void Set(DbCommand command, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            command.Parameters[i].Value = values[i] ?? DBNull.Value;
        }
    }
}

/// <summary>
/// When <see cref="PostgresBulkWriter"/> inserts a batch's signals optimistically (a plain insert that fails as a
/// whole if one of them is stored already): unless a recent batch met a stored signal. A conflict costs the
/// failed insert's work, so after one the next <see cref="SafeBatchesAfterConflict"/> batches go the safe way (a
/// member re-contributing known signals does so in a run of batches); the next one then tries again. Shared by
/// the hub's writers (the shape of what members send, not a property of one request).
/// </summary>
internal sealed class OptimisticInserts
{
    public const int SafeBatchesAfterConflict = 32;

    public static readonly OptimisticInserts Shared = new();

    private int _safeBatchesLeft;
    private int _conflicts;

    /// <summary>Plain inserts that conflicted so far (for tests and diagnostics).</summary>
    public int Conflicts => Volatile.Read(ref _conflicts);

    public bool ShouldTry()
    {
        // Racy by design between concurrent writers: a batch more or less either way only moves the heuristic.
        var left = Volatile.Read(ref _safeBatchesLeft);
        if (left <= 0)
        {
            return true;
        }
        Interlocked.Decrement(ref _safeBatchesLeft);
        return false;
    }

    public void Conflicted()
    {
        Interlocked.Increment(ref _conflicts);
        Volatile.Write(ref _safeBatchesLeft, SafeBatchesAfterConflict);
    }
}
