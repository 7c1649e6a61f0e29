using System.Data.Common;
using System.Text.Json;
using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;

namespace HashHub.Server.Sync;

/// <summary>One page read from the change log, with where the log ended when it was read.</summary>
internal sealed record ChangePage(IReadOnlyList<ChangeEntity> Changes, IReadOnlyDictionary<long, SignalEntity> Signals, long NextSeq, bool HasMore, LogPosition Head);

/// <summary>
/// The log's head as seen from a cursor: the newest change's sequence number and commit time, and the commit time of
/// the change at the cursor (null at the start of the log, or while the log is empty).
/// </summary>
internal readonly record struct LogPosition(long CursorSeq, long HeadSeq, DateTimeOffset? HeadCommittedAt, DateTimeOffset? CursorCommittedAt)
{
    /// <summary>
    /// Sequence numbers after the cursor: an upper bound of the changes a reader still has to read (it counts changes
    /// the reader does not see, and numbers an append that rolled back left unused).
    /// </summary>
    public long ChangesAfterCursor => Math.Max(0, HeadSeq - CursorSeq);
}

/// <summary>
/// Reads the change log by cursor. Because appends are serialised until commit (<see cref="ChangeLog"/>),
/// every change at or below the highest committed sequence number is already committed: reading up to that
/// head can never pass over a change that commits later.
/// <para>
/// Sync is the hub's hottest read (a new member pulls millions of changes), so it runs one plain SQL query
/// per page (the page of changes, joined to their signals and the signals' contributions) and materialises rows by hand,
/// without EF Core's query pipeline.
/// </para>
/// </summary>
internal sealed class ChangeReader(HubDbContext db)
{
    /// <summary>
    /// Reads the page after <paramref name="afterSeq"/>. With a <paramref name="viewer"/> (a member id; null for an
    /// admin) each signal carries only the contributions that member may see (<see cref="Sharing.Visibility"/>),
    /// filtered in the same query; a signal with none is still in the page, with no contributions, and the caller
    /// skips it. The page is bounded by the changes scanned, so a page of changes all filtered out still advances.
    /// </summary>
    public Task<ChangePage> ReadAsync(long afterSeq, int pageSize, IReadOnlyCollection<string> types, string? viewer, CancellationToken cancellationToken) =>
        OnOpenConnectionAsync(() => ReadOpenAsync(afterSeq, pageSize, types, viewer, cancellationToken), cancellationToken);

    private async Task<ChangePage> ReadOpenAsync(long afterSeq, int pageSize, IReadOnlyCollection<string> types, string? viewer, CancellationToken cancellationToken)
    {
        // The newest change, by a backward step on the primary key: as cheap as MAX("Seq"), and it brings the
        // head's commit time for the lag figures (LogHead in sync.proto).
        var (head, headAt) = await ReadNewestAsync(atOrBefore: null, cancellationToken);
        if (head <= afterSeq)
        {
            // Caught up: the cursor is at the head (or, for a cursor past it, treated as there).
            return new ChangePage([], new Dictionary<long, SignalEntity>(), afterSeq, false, new LogPosition(afterSeq, head, headAt, headAt));
        }

        var changes = new List<ChangeEntity>(Math.Min(pageSize, 10_000));
        var signals = new Dictionary<long, SignalEntity>();
        await using (var command = CreateCommand(ChangesSql(types.Count > 0, viewer is not null)))
        {
            AddParameter(command, "after", afterSeq);
            if (viewer is not null)
            {
                AddParameter(command, "viewer", viewer);
            }
            AddParameter(command, "n", pageSize);
            if (types.Count > 0)
            {
                AddListParameter(command, "types", types.ToArray());
            }
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            // One row per (change, contribution of its signal), in log order. A signal changed twice in the
            // page takes its contributions from the rows of its first change only.
            var firstSeq = new Dictionary<long, long>();
            var labels = new Dictionary<string, string[]>(StringComparer.Ordinal);
            ChangeEntity? current = null;
            while (await reader.ReadAsync(cancellationToken))
            {
                var seq = reader.GetInt64(0);
                var signalId = reader.GetInt64(3);
                if (current?.Seq != seq)
                {
                    current = new ChangeEntity
                    {
                        Seq = seq,
                        Kind = (ChangeKind)reader.GetInt32(1),
                        CommittedAt = ReadTime(reader, 2),
                        SignalId = signalId,
                        SignalType = reader.GetString(4),
                    };
                    changes.Add(current);
                    if (firstSeq.TryAdd(signalId, seq))
                    {
                        signals[signalId] = ReadSignal(reader, 3);
                    }
                }
                if (firstSeq[signalId] == seq && !reader.IsDBNull(10))
                {
                    signals[signalId].Contributions.Add(ReadContribution(reader, 10, signalId, labels));
                }
            }
        }

        SortContributions(signals.Values);
        // Sharing scopes of the contributions not shared with all (one more query, and none in the common case).
        await Sharing.Visibility.LoadGroupsAsync(db, signals.Values.SelectMany(s => s.Contributions), cancellationToken);

        // A full page ends at its last change. A short page means the query saw the whole committed log, and
        // everything up to the head read before it was committed already: the cursor may pass the changes the
        // type filter skipped up to there.
        var last = changes.Count > 0 ? changes[^1].Seq : afterSeq;
        var nextSeq = changes.Count == pageSize ? last : Math.Max(last, head);
        // The cursor's change is known either way: the page's last change, or the head.
        var nextAt = nextSeq == head ? headAt : changes[^1].CommittedAt;
        return new ChangePage(changes, signals, nextSeq, nextSeq < head, new LogPosition(nextSeq, head, headAt, nextAt));
    }

    /// <summary>
    /// Reads signals in id order, each with the contributions <paramref name="scope"/> lets through (oldest first,
    /// sharing scopes loaded): the <paramref name="limit"/> signals after <paramref name="afterId"/>, or the signals
    /// <paramref name="ids"/> names. A signal with no such contribution is still returned, with none, so that a page
    /// of them still advances the caller's position. What snapshots are made of (<see cref="SnapshotStore"/>).
    /// </summary>
    public Task<List<SignalEntity>> ReadSignalsAsync(long afterId, int limit, IReadOnlyCollection<long>? ids, SnapshotScope scope, CancellationToken cancellationToken) =>
        OnOpenConnectionAsync(() => ReadSignalsOpenAsync(afterId, limit, ids, scope, cancellationToken), cancellationToken);

    private async Task<List<SignalEntity>> ReadSignalsOpenAsync(long afterId, int limit, IReadOnlyCollection<long>? ids, SnapshotScope scope, CancellationToken cancellationToken)
    {
        var signals = new List<SignalEntity>(Math.Min(limit, 10_000));
        await using (var command = CreateCommand(SignalsSql(ids is not null, scope)))
        {
            if (ids is not null)
            {
                AddListParameter(command, "ids", ids.ToArray());
            }
            else
            {
                AddParameter(command, "after", afterId);
            }
            AddParameter(command, "n", limit);
            if (scope.Viewer is { } viewer)
            {
                AddParameter(command, "viewer", viewer);
            }
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var labels = new Dictionary<string, string[]>(StringComparer.Ordinal);
            SignalEntity? current = null;
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetInt64(0);
                if (current?.Id != id)
                {
                    current = ReadSignal(reader, 0);
                    signals.Add(current);
                }
                if (!reader.IsDBNull(7))
                {
                    current.Contributions.Add(ReadContribution(reader, 7, id, labels));
                }
            }
        }
        SortContributions(signals);
        await Sharing.Visibility.LoadGroupsAsync(db, signals.SelectMany(s => s.Contributions), cancellationToken);
        return signals;
    }

    /// <summary>
    /// The ids of the signals with a contribution that <paramref name="viewer"/> may see and not every member may
    /// (shared within its groups, or its own held for review; for an admin, null, every such contribution), in id order.
    /// A range on the Visibility index, so its cost follows those few contributions, not the table.
    /// </summary>
    public Task<List<long>> ReadSignalsSeenBeyondAllMembersAsync(string? viewer, CancellationToken cancellationToken) =>
        OnOpenConnectionAsync(async () =>
        {
            var visible = viewer is null ? string.Empty : "AND " + Sharing.Visibility.SqlCondition("v");
            // The OFFSET keeps the subquery a subquery (neither SQLite nor PostgreSQL flattens one with an OFFSET), so
            // the viewer's condition, an OR that a planner could answer from the MemberId index (all of a big
            // contributor's rows) or from Visibility = all members (most rows), applies to the few rows it yields.
            var keep = db.Provider switch
            {
                StorageProvider.Postgres => " OFFSET 0",
                StorageProvider.Sqlite => " LIMIT -1 OFFSET 0",
                _ => string.Empty,
            };
            await using var command = CreateCommand(
                $"""
                SELECT DISTINCT v."SignalId" FROM (SELECT * FROM contributions WHERE "Visibility" > {(int)ContributionVisibility.AllMembers}{keep}) v
                WHERE 1 = 1 {visible} ORDER BY v."SignalId"
                """);
            if (viewer is not null)
            {
                AddParameter(command, "viewer", viewer);
            }
            var ids = new List<long>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            while (await reader.ReadAsync(cancellationToken))
            {
                ids.Add(reader.GetInt64(0));
            }
            return ids;
        }, cancellationToken);

    private string SignalsSql(bool byIds, SnapshotScope scope)
    {
        // "+ 0" keeps the planners off the Visibility index, which every contribution shared with all matches: the
        // lookup must go by signal (SQLite took that index and scanned the whole table per signal).
        string Visible(string alias) => scope.AllMembersOnly
            ? $"AND ({alias}.\"Visibility\" + 0) = {(int)ContributionVisibility.AllMembers}"
            : scope.Viewer is null ? string.Empty : "AND " + Sharing.Visibility.SqlCondition(alias);
        var where = byIds ? $"\"Id\" {InList("ids")}" : "\"Id\" > @after";
        var page = db.Provider == StorageProvider.SqlServer
            ? $"SELECT TOP (@n) * FROM signals WHERE {where} ORDER BY \"Id\""
            : $"SELECT * FROM signals WHERE {where} ORDER BY \"Id\" LIMIT @n";
        const string columns = """
            s."Id", s."Type", s."Value", s."Quality", s."Status", s."CreatedAt", s."UpdatedAt",
            t."Id", t."MemberId", t."Status", t."Labels", t."SourceKind", t."IncidentId", t."CaseReference", t."Note", t."Quality",
            t."ContributedAt", t."UpdatedAt", t."RetractedAt", t."Visibility"
            """;
        // Per-signal lookups spelled out where a planner could choose to hash the whole contributions table (see
        // ChangesSql); SQLite does index lookups for this join anyway.
        return db.Provider switch
        {
            StorageProvider.Postgres => $"""
                SELECT {columns} FROM ({page}) s
                LEFT JOIN LATERAL (SELECT * FROM contributions v WHERE v."SignalId" = s."Id" {Visible("v")} OFFSET 0) t ON true
                ORDER BY s."Id"
                """,
            StorageProvider.SqlServer => $"""
                SELECT {columns} FROM ({page}) s
                OUTER APPLY (SELECT * FROM contributions v WHERE v."SignalId" = s."Id" {Visible("v")}) t
                ORDER BY s."Id"
                """,
            _ => $"""
                SELECT {columns} FROM ({page}) s
                LEFT JOIN contributions t ON t."SignalId" = s."Id" {Visible("t")}
                ORDER BY s."Id"
                """,
        };
    }

    /// <summary>
    /// Where the log ends as seen from <paramref name="cursorSeq"/>, without reading changes: two primary-key lookups
    /// (the newest change, and the change at the cursor).
    /// </summary>
    public Task<LogPosition> ReadHeadAsync(long cursorSeq, CancellationToken cancellationToken) =>
        OnOpenConnectionAsync(() => ReadHeadOpenAsync(cursorSeq, cancellationToken), cancellationToken);

    private async Task<LogPosition> ReadHeadOpenAsync(long cursorSeq, CancellationToken cancellationToken)
    {
        var (head, headAt) = await ReadNewestAsync(atOrBefore: null, cancellationToken);
        if (head <= cursorSeq)
        {
            return new LogPosition(cursorSeq, head, headAt, headAt);
        }
        var cursorAt = cursorSeq <= 0 ? null : (await ReadNewestAsync(cursorSeq, cancellationToken)).CommittedAt;
        return new LogPosition(cursorSeq, head, headAt, cursorAt);
    }

    /// <summary>The newest change (at or before a sequence number, when given): its number and commit time; 0 and null when there is none.</summary>
    private async Task<(long Seq, DateTimeOffset? CommittedAt)> ReadNewestAsync(long? atOrBefore, CancellationToken cancellationToken)
    {
        var where = atOrBefore is null ? string.Empty : "WHERE \"Seq\" <= @at";
        await using var command = CreateCommand(db.Provider == StorageProvider.SqlServer
            ? $"SELECT TOP (1) \"Seq\", \"CommittedAt\" FROM changes {where} ORDER BY \"Seq\" DESC"
            : $"SELECT \"Seq\", \"CommittedAt\" FROM changes {where} ORDER BY \"Seq\" DESC LIMIT 1");
        if (atOrBefore is { } at)
        {
            AddParameter(command, "at", at);
        }
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? (reader.GetInt64(0), ReadTime(reader, 1)) : (0, null);
    }

    /// <summary>A signal's columns, from <paramref name="first"/> on: Id, Type, Value, Quality, Status, CreatedAt, UpdatedAt.</summary>
    private SignalEntity ReadSignal(DbDataReader reader, int first) => new()
    {
        Id = reader.GetInt64(first),
        Type = reader.GetString(first + 1),
        // PostgreSQL stores the value as bytes (StoredSignalValue).
        Value = db.Provider == StorageProvider.Postgres ? StoredSignalValue.Decode(reader.GetFieldValue<byte[]>(first + 2)) : reader.GetString(first + 2),
        Quality = reader.IsDBNull(first + 3) ? null : reader.GetInt32(first + 3),
        Status = (SignalStatus)reader.GetInt32(first + 4),
        CreatedAt = ReadTime(reader, first + 5),
        UpdatedAt = ReadTime(reader, first + 6),
    };

    /// <summary>Contributions come in index order; the contract lists them oldest first.</summary>
    private static void SortContributions(IEnumerable<SignalEntity> signals)
    {
        foreach (var signal in signals)
        {
            if (signal.Contributions.Count > 1)
            {
                signal.Contributions.Sort((x, y) => x.Id.CompareTo(y.Id));
            }
        }
    }

    // labelSets: label arrays already read in this page, by their stored form. Most contributions share a few
    // sets, and the arrays are never changed, so they are shared.
    private ContributionEntity ReadContribution(DbDataReader reader, int first, long signalId, Dictionary<string, string[]> labelSets)
    {
        var stored = reader.GetString(first + 3);
        if (!labelSets.TryGetValue(stored, out var labels))
        {
            labels = stored.Length == 0 ? [] : stored.Split(',');
            if (labelSets.Count < 1024)
            {
                labelSets[stored] = labels;
            }
        }
        return new ContributionEntity
        {
            Id = reader.GetInt64(first),
            SignalId = signalId,
            MemberId = reader.GetString(first + 1),
            Status = (ContributionStatus)reader.GetInt32(first + 2),
            Labels = labels,
            SourceKind = reader.GetInt32(first + 4),
            IncidentId = reader.IsDBNull(first + 5) ? null : reader.GetString(first + 5),
            CaseReference = reader.IsDBNull(first + 6) ? null : reader.GetString(first + 6),
            Note = reader.IsDBNull(first + 7) ? null : reader.GetString(first + 7),
            Quality = reader.IsDBNull(first + 8) ? null : reader.GetInt32(first + 8),
            ContributedAt = ReadTime(reader, first + 9),
            UpdatedAt = ReadTime(reader, first + 10),
            RetractedAt = reader.IsDBNull(first + 11) ? null : ReadTime(reader, first + 11),
            Visibility = (ContributionVisibility)reader.GetInt32(first + 12),
        };
    }

    /// <summary>
    /// The page's changes joined to their signals. The limit applies in a subquery on the change log's primary
    /// key, so the database walks the index for just one page instead of joining the whole tail of the log
    /// (which a planner with stale statistics after a bulk load would otherwise do).
    /// </summary>
    private string ChangesSql(bool filtered, bool forViewer)
    {
        // Only the contributions the viewer may see are joined (admins: all).
        var visible = forViewer ? "AND " + Sharing.Visibility.SqlCondition("v") : string.Empty;
        var visibleSqlite = forViewer ? "AND " + Sharing.Visibility.SqlCondition("t") : string.Empty;
        var filter = filtered ? $"AND \"SignalType\" {InList("types")}" : string.Empty;
        var page = db.Provider == StorageProvider.SqlServer
            ? $"SELECT TOP (@n) \"Seq\", \"Kind\", \"CommittedAt\", \"SignalId\" FROM changes WHERE \"Seq\" > @after {filter} ORDER BY \"Seq\""
            : $"SELECT \"Seq\", \"Kind\", \"CommittedAt\", \"SignalId\" FROM changes WHERE \"Seq\" > @after {filter} ORDER BY \"Seq\" LIMIT @n";
        const string columns = """
            c."Seq", c."Kind", c."CommittedAt", s."Id", s."Type", s."Value", s."Quality", s."Status", s."CreatedAt", s."UpdatedAt",
            t."Id", t."MemberId", t."Status", t."Labels", t."SourceKind", t."IncidentId", t."CaseReference", t."Note", t."Quality",
            t."ContributedAt", t."UpdatedAt", t."RetractedAt", t."Visibility"
            """;
        // PostgreSQL and SQL Server get per-row lookups spelled out (LATERAL / APPLY): a planner that
        // underestimates the tables (statistics lag behind bulk loads) would otherwise hash-join the whole signal
        // and contribution tables for every page, which makes a full sync quadratic. On PostgreSQL the LIMIT /
        // OFFSET 0 keep the subqueries from being flattened into plain joins, which could be planned that way
        // again. SQLite always does index lookups for these joins.
        return db.Provider switch
        {
            StorageProvider.Postgres => $"""
                SELECT {columns} FROM ({page}) c
                CROSS JOIN LATERAL (SELECT * FROM signals WHERE "Id" = c."SignalId" LIMIT 1) s
                LEFT JOIN LATERAL (SELECT * FROM contributions v WHERE v."SignalId" = c."SignalId" {visible} OFFSET 0) t ON true
                ORDER BY c."Seq"
                """,
            StorageProvider.SqlServer => $"""
                SELECT {columns} FROM ({page}) c
                CROSS APPLY (SELECT * FROM signals WHERE "Id" = c."SignalId") s
                OUTER APPLY (SELECT * FROM contributions v WHERE v."SignalId" = c."SignalId" {visible}) t
                ORDER BY c."Seq"
                """,
            _ => $"""
                SELECT {columns} FROM ({page}) c
                JOIN signals s ON s."Id" = c."SignalId"
                LEFT JOIN contributions t ON t."SignalId" = s."Id" {visibleSqlite}
                ORDER BY c."Seq"
                """,
        };
    }

    /// <summary>"IN (list parameter)": an array on PostgreSQL, a JSON array elsewhere.</summary>
    private string InList(string parameter) => db.Provider switch
    {
        StorageProvider.Postgres => $"= ANY(@{parameter})",
        StorageProvider.SqlServer => $"IN (SELECT value FROM OPENJSON(@{parameter}))",
        _ => $"IN (SELECT value FROM json_each(@{parameter}))",
    };

    private void AddListParameter<T>(DbCommand command, string name, T[] values)
    {
        if (db.Provider == StorageProvider.Postgres)
        {
            AddParameter(command, name, values);
        }
        else
        {
            AddParameter(command, name, JsonSerializer.Serialize(values));
        }
    }

    private DateTimeOffset ReadTime(DbDataReader reader, int ordinal) => db.Provider == StorageProvider.Sqlite
        ? new DateTimeOffset(reader.GetInt64(ordinal), TimeSpan.Zero)
        : reader.GetFieldValue<DateTimeOffset>(ordinal);

    private DbCommand CreateCommand(string sql)
    {
        var command = db.Database.GetDbConnection().CreateCommand();
        command.CommandText = sql;
        command.Transaction = db.Database.CurrentTransaction?.GetDbTransaction();
        return command;
    }

    private static void AddParameter(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = "@" + name;
        p.Value = value;
        command.Parameters.Add(p);
    }

    /// <summary>Runs <paramref name="read"/> on the context's connection, opened for it (and closed after) unless already open.</summary>
    private async Task<T> OnOpenConnectionAsync<T>(Func<Task<T>> read, CancellationToken cancellationToken)
    {
        var opened = db.Database.GetDbConnection().State != System.Data.ConnectionState.Open;
        if (opened)
        {
            await db.Database.OpenConnectionAsync(cancellationToken);
        }
        try
        {
            return await read();
        }
        finally
        {
            if (opened)
            {
                await db.Database.CloseConnectionAsync();
            }
        }
    }
}
