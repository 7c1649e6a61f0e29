using System.Data.Common;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage;
using Npgsql;
using NpgsqlTypes;

namespace HashHub.Server.Storage;

/// <summary>
/// Inserts the rows of a large batch (new signals, contributions, change-log entries) in the current
/// transaction without EF Core's per-entity change tracking, which costs far more than the inserts themselves
/// at 1,000-10,000 rows a batch. PostgreSQL gets one multi-row statement per table (arrays unnested server
/// side); SQLite one prepared statement run per row (an in-process call, no round trip); any other provider
/// goes through EF Core. The rows are not tracked afterwards; their generated keys are set on them.
/// </summary>
internal abstract class BulkWriter
{
    public static BulkWriter For(HubDbContext db) => db.Provider switch
    {
        StorageProvider.Postgres => new PostgresBulkWriter(db),
        StorageProvider.Sqlite => new SqliteBulkWriter(db),
        _ => new EfBulkWriter(db),
    };

    public abstract Task InsertSignalsAsync(IReadOnlyList<SignalEntity> signals, CancellationToken ct);

    public abstract Task InsertContributionsAsync(IReadOnlyList<ContributionEntity> contributions, CancellationToken ct);

    /// <summary>Appends change-log entries; their sequence numbers follow the list's order.</summary>
    public abstract Task AppendChangesAsync(IReadOnlyList<ChangeEntity> changes, CancellationToken ct);

    internal static string JoinLabels(string[] labels) => string.Join(',', labels);
}

internal sealed class EfBulkWriter(HubDbContext db) : BulkWriter
{
    public override Task InsertSignalsAsync(IReadOnlyList<SignalEntity> signals, CancellationToken ct) => SaveAsync(signals, ct);

    public override Task InsertContributionsAsync(IReadOnlyList<ContributionEntity> contributions, CancellationToken ct) => SaveAsync(contributions, ct);

    public override Task AppendChangesAsync(IReadOnlyList<ChangeEntity> changes, CancellationToken ct) => SaveAsync(changes, ct);

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

internal sealed class PostgresBulkWriter(HubDbContext db) : BulkWriter
{
    public override async Task InsertSignalsAsync(IReadOnlyList<SignalEntity> signals, CancellationToken ct)
    {
        if (signals.Count == 0)
        {
            return;
        }
        await using var command = Command("""
            INSERT INTO signals ("Type", "Value", "Quality", "Status", "CreatedAt", "UpdatedAt")
            SELECT t, v, q, s, c, u FROM unnest(@t, @v, @q, @s, @c, @u) WITH ORDINALITY AS x(t, v, q, s, c, u, n) ORDER BY n
            RETURNING "Id", "Type", "Value"
            """);
        command.Parameters.Add(new NpgsqlParameter<string[]>("t", signals.Select(s => s.Type).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("v", signals.Select(s => s.Value).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int?[]>("q", signals.Select(s => s.Quality).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("s", signals.Select(s => (int)s.Status).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("c", signals.Select(s => s.CreatedAt).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("u", signals.Select(s => s.UpdatedAt).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        // RETURNING's row order is not promised, so keys are matched back by the unique (type, value).
        var byKey = signals.ToDictionary(s => (s.Type, s.Value));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            byKey[(reader.GetString(1), reader.GetString(2))].Id = reader.GetInt64(0);
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
            SELECT a, b, c, d, e, f, g, h, i, j, k FROM unnest(@a, @b, @c, @d, @e, @f, @g, @h, @i, @j, @k) WITH ORDINALITY AS x(a, b, c, d, e, f, g, h, i, j, k, n) ORDER BY n
            RETURNING "Id", "SignalId"
            """);
        command.Parameters.Add(new NpgsqlParameter<long[]>("a", contributions.Select(c => c.SignalId).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("b", contributions.Select(c => c.MemberId).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("c", contributions.Select(c => (int)c.Status).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("d", contributions.Select(c => JoinLabels(c.Labels)).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("e", contributions.Select(c => c.SourceKind).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string?[]>("f", contributions.Select(c => c.IncidentId).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]>("g", contributions.Select(c => c.CaseReference).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<string?[]>("h", contributions.Select(c => c.Note).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text });
        command.Parameters.Add(new NpgsqlParameter<int?[]>("i", contributions.Select(c => c.Quality).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("j", contributions.Select(c => c.ContributedAt).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("k", contributions.Select(c => c.UpdatedAt).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        // One contribution per signal in a batch: the signal id identifies the row.
        var bySignal = contributions.ToDictionary(c => c.SignalId);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            bySignal[reader.GetInt64(1)].Id = reader.GetInt64(0);
        }
    }

    public override async Task AppendChangesAsync(IReadOnlyList<ChangeEntity> changes, CancellationToken ct)
    {
        if (changes.Count == 0)
        {
            return;
        }
        // Identity values are drawn in the order the rows are produced, which ORDER BY n fixes to the list's order.
        await using var command = Command("""
            INSERT INTO changes ("SignalId", "SignalType", "Kind", "CommittedAt")
            SELECT a, b, c, d FROM unnest(@a, @b, @c, @d) WITH ORDINALITY AS x(a, b, c, d, n) ORDER BY n
            """);
        command.Parameters.Add(new NpgsqlParameter<long[]>("a", changes.Select(c => c.SignalId).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<string[]>("b", changes.Select(c => c.SignalType).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<int[]>("c", changes.Select(c => (int)c.Kind).ToArray()));
        command.Parameters.Add(new NpgsqlParameter<DateTimeOffset[]>("d", changes.Select(c => c.CommittedAt).ToArray()) { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.TimestampTz });
        await command.ExecuteNonQueryAsync(ct);
    }

    private NpgsqlCommand Command(string sql) => new(sql, (NpgsqlConnection)db.Database.GetDbConnection(), (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());
}

internal sealed class SqliteBulkWriter(HubDbContext db) : BulkWriter
{
    public override async Task InsertSignalsAsync(IReadOnlyList<SignalEntity> signals, CancellationToken ct)
    {
        if (signals.Count == 0)
        {
            return;
        }
        await using var command = Command("""
            INSERT INTO signals ("Type", "Value", "Quality", "Status", "CreatedAt", "UpdatedAt") VALUES ($t, $v, $q, $s, $c, $u) RETURNING "Id"
            """, "$t", "$v", "$q", "$s", "$c", "$u");
        foreach (var s in signals)
        {
            Set(command, s.Type, s.Value, s.Quality, (int)s.Status, s.CreatedAt.UtcTicks, s.UpdatedAt.UtcTicks);
            s.Id = (long)(await command.ExecuteScalarAsync(ct))!;
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

    public override async Task AppendChangesAsync(IReadOnlyList<ChangeEntity> changes, CancellationToken ct)
    {
        await using var command = Command("""
            INSERT INTO changes ("SignalId", "SignalType", "Kind", "CommittedAt") VALUES ($a, $b, $c, $d)
            """, "$a", "$b", "$c", "$d");
        foreach (var c in changes)
        {
            Set(command, c.SignalId, c.SignalType, (int)c.Kind, c.CommittedAt.UtcTicks);
            await command.ExecuteNonQueryAsync(ct);
        }
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
