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
/// at 1,000-10,000 rows a batch. PostgreSQL gets a binary COPY per table; SQLite one prepared statement run
/// per row (an in-process call, no round trip); any other provider
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
    // Binary COPY is PostgreSQL's fastest way in; it cannot return generated keys, so the keys are drawn from
    // the identity columns' sequences first (one round trip) and written explicitly.

    public override async Task InsertSignalsAsync(IReadOnlyList<SignalEntity> signals, CancellationToken ct)
    {
        if (signals.Count == 0)
        {
            return;
        }
        var ids = await NextIdsAsync("signals", "Id", signals.Count, ct);
        await using var writer = await Connection.BeginBinaryImportAsync(
            """COPY signals ("Id", "Type", "Value", "Quality", "Status", "CreatedAt", "UpdatedAt") FROM STDIN (FORMAT BINARY)""", ct);
        for (var i = 0; i < signals.Count; i++)
        {
            var s = signals[i];
            s.Id = ids[i];
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(s.Id, NpgsqlDbType.Bigint, ct);
            await writer.WriteAsync(s.Type, NpgsqlDbType.Varchar, ct);
            await writer.WriteAsync(s.Value, NpgsqlDbType.Varchar, ct);
            await WriteNullableAsync(writer, s.Quality, ct);
            await writer.WriteAsync((int)s.Status, NpgsqlDbType.Integer, ct);
            await writer.WriteAsync(s.CreatedAt, NpgsqlDbType.TimestampTz, ct);
            await writer.WriteAsync(s.UpdatedAt, NpgsqlDbType.TimestampTz, ct);
        }
        await writer.CompleteAsync(ct);
    }

    public override async Task InsertContributionsAsync(IReadOnlyList<ContributionEntity> contributions, CancellationToken ct)
    {
        if (contributions.Count == 0)
        {
            return;
        }
        var ids = await NextIdsAsync("contributions", "Id", contributions.Count, ct);
        await using var writer = await Connection.BeginBinaryImportAsync("""
            COPY contributions ("Id", "SignalId", "MemberId", "Status", "Labels", "SourceKind", "IncidentId", "CaseReference", "Note", "Quality", "ContributedAt", "UpdatedAt")
            FROM STDIN (FORMAT BINARY)
            """, ct);
        for (var i = 0; i < contributions.Count; i++)
        {
            var c = contributions[i];
            c.Id = ids[i];
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(c.Id, NpgsqlDbType.Bigint, ct);
            await writer.WriteAsync(c.SignalId, NpgsqlDbType.Bigint, ct);
            await writer.WriteAsync(c.MemberId, NpgsqlDbType.Varchar, ct);
            await writer.WriteAsync((int)c.Status, NpgsqlDbType.Integer, ct);
            await writer.WriteAsync(JoinLabels(c.Labels), NpgsqlDbType.Varchar, ct);
            await writer.WriteAsync(c.SourceKind, NpgsqlDbType.Integer, ct);
            await WriteNullableAsync(writer, c.IncidentId, ct);
            await WriteNullableAsync(writer, c.CaseReference, ct);
            await WriteNullableAsync(writer, c.Note, ct);
            await WriteNullableAsync(writer, c.Quality, ct);
            await writer.WriteAsync(c.ContributedAt, NpgsqlDbType.TimestampTz, ct);
            await writer.WriteAsync(c.UpdatedAt, NpgsqlDbType.TimestampTz, ct);
        }
        await writer.CompleteAsync(ct);
    }

    public override async Task AppendChangesAsync(IReadOnlyList<ChangeEntity> changes, CancellationToken ct)
    {
        if (changes.Count == 0)
        {
            return;
        }
        // Runs under the change-log lock, so these sequence numbers are the next ones to commit, in list order.
        var seqs = await NextIdsAsync("changes", "Seq", changes.Count, ct);
        await using var writer = await Connection.BeginBinaryImportAsync(
            """COPY changes ("Seq", "SignalId", "SignalType", "Kind", "CommittedAt") FROM STDIN (FORMAT BINARY)""", ct);
        for (var i = 0; i < changes.Count; i++)
        {
            var c = changes[i];
            await writer.StartRowAsync(ct);
            await writer.WriteAsync(seqs[i], NpgsqlDbType.Bigint, ct);
            await writer.WriteAsync(c.SignalId, NpgsqlDbType.Bigint, ct);
            await writer.WriteAsync(c.SignalType, NpgsqlDbType.Varchar, ct);
            await writer.WriteAsync((int)c.Kind, NpgsqlDbType.Integer, ct);
            await writer.WriteAsync(c.CommittedAt, NpgsqlDbType.TimestampTz, ct);
        }
        await writer.CompleteAsync(ct);
    }

    private NpgsqlConnection Connection => (NpgsqlConnection)db.Database.GetDbConnection();

    /// <summary>Draws <paramref name="count"/> values of an identity column's sequence, ascending.</summary>
    private async Task<long[]> NextIdsAsync(string table, string column, int count, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"SELECT nextval(pg_get_serial_sequence('{table}', '{column}')) FROM generate_series(1, @n)",
            Connection, (NpgsqlTransaction?)db.Database.CurrentTransaction?.GetDbTransaction());
        command.Parameters.Add(new NpgsqlParameter<int>("n", count));
        var ids = new long[count];
        var i = 0;
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                ids[i++] = reader.GetInt64(0);
            }
        }
        Array.Sort(ids);
        return ids;
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter writer, string? value, CancellationToken ct)
    {
        if (value is null)
        {
            await writer.WriteNullAsync(ct);
        }
        else
        {
            await writer.WriteAsync(value, NpgsqlDbType.Varchar, ct);
        }
    }

    private static async Task WriteNullableAsync(NpgsqlBinaryImporter writer, int? value, CancellationToken ct)
    {
        if (value is { } v)
        {
            await writer.WriteAsync(v, NpgsqlDbType.Integer, ct);
        }
        else
        {
            await writer.WriteNullAsync(ct);
        }
    }
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
