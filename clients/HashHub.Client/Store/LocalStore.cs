using System.Globalization;
using Google.Protobuf;
using HashHub.Client.Sync;
using HashHub.Protos.V1;
using Microsoft.Data.Sqlite;

namespace HashHub.Client.Store;

/// <summary>
/// The member's own copy of the list: a SQLite file with one row per signal (its current state as the hub sent it)
/// and the sync cursor. A page of changes and the cursor that covers it are written in one transaction, so a crash
/// leaves either both or neither: a resumed sync neither skips nor re-applies a change.
/// </summary>
/// <remarks>
/// One writer at a time (the sync engine serialises pages); readers open their own pooled connections and, with the
/// write-ahead log, never wait for the writer.
/// </remarks>
internal sealed class LocalStore : IDisposable
{
    private const string CursorKey = "cursor";
    private const string ChangesAppliedKey = "changes_applied";
    private const string LastSyncedKey = "last_synced_at";
    private const string LagKey = "lag";

    private readonly string _connectionString;
    private readonly SqliteConnection _writer;
    private readonly FileStream _ownership;

    private LocalStore(string path, FileStream ownership)
    {
        _ownership = ownership;
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = true,
        }.ToString();
        _writer = new SqliteConnection(_connectionString);
    }

    public string Path { get; }

    /// <summary>Test hook: runs inside each page's transaction after the changes and the cursor are written, before commit.</summary>
    internal Action? BeforeCommit { get; set; }

    public static LocalStore Open(string path)
    {
        var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        // One client owns a store: the match index of a client is fed only by the pages that client applies, so a
        // second client writing the same file would leave the first one's index behind. The lock is the OS's, so it is
        // released when the process dies.
        FileStream ownership;
        try
        {
            ownership = new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"The store '{path}' is open in another HashHub client; a store has one owner at a time.", e);
        }
        var store = new LocalStore(path, ownership);
        try
        {
            store._writer.Open();
            Execute(store._writer, null, """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
                CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS signals (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    hub_id TEXT NOT NULL UNIQUE,
                    type TEXT NOT NULL,
                    value TEXT NOT NULL,
                    active INTEGER NOT NULL,
                    record BLOB NOT NULL);
                CREATE INDEX IF NOT EXISTS signals_active ON signals (active);
                """);
        }
        catch
        {
            store.Dispose();
            throw;
        }
        return store;
    }

    /// <summary>The cursor after the last change applied; empty before the first sync.</summary>
    public string ReadCursor() => ReadMeta(CursorKey) ?? string.Empty;

    /// <summary>Every active signal's local id, type and value, for loading the match index.</summary>
    public IEnumerable<(int Id, string Type, string Value)> ReadActive()
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT id, type, value FROM signals WHERE active = 1";
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            yield return (checked((int)reader.GetInt64(0)), reader.GetString(1), reader.GetString(2));
        }
    }

    /// <summary>The stored records of these local ids (missing ids are skipped).</summary>
    public Dictionary<int, (SignalRecord Record, bool Active)> ReadRecords(IEnumerable<int> ids)
    {
        var result = new Dictionary<int, (SignalRecord, bool)>();
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT record, active FROM signals WHERE id = $id";
        var id = command.Parameters.Add("$id", SqliteType.Integer);
        foreach (var local in ids.Distinct())
        {
            id.Value = local;
            using var reader = command.ExecuteReader();
            if (reader.Read())
            {
                result[local] = (SignalRecord.Parser.ParseFrom((byte[])reader.GetValue(0)), reader.GetInt64(1) == 1);
            }
        }
        return result;
    }

    public StoreCounts ReadCounts()
    {
        using var connection = OpenReader();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), coalesce(sum(active), 0) FROM signals";
        using var reader = command.ExecuteReader();
        reader.Read();
        var applied = ReadMeta(ChangesAppliedKey);
        var synced = ReadMeta(LastSyncedKey);
        return new StoreCounts(
            reader.GetInt64(0),
            reader.GetInt64(1),
            applied is null ? 0 : long.Parse(applied, CultureInfo.InvariantCulture),
            synced is null ? null : DateTimeOffset.Parse(synced, CultureInfo.InvariantCulture),
            ReadCursor(),
            ParseLag(ReadMeta(LagKey)));
    }

    /// <summary>
    /// Applies a page of changes read after <paramref name="fromCursor"/> and saves <paramref name="cursor"/> in one
    /// transaction, and returns what the match index must do once it committed. With <paramref name="reset"/> the
    /// store is emptied first, in the same transaction (a resync: the old copy stays usable until the new one starts
    /// to arrive). <paramref name="lag"/> is what the hub said of <paramref name="cursor"/>'s lag, saved with it (null:
    /// unknown, and an earlier figure, which described an older cursor, is dropped).
    /// </summary>
    /// <returns>
    /// Null, with nothing written, when the store's cursor is no longer <paramref name="fromCursor"/>: another sync of
    /// this store (live sync running beside a paged one) applied pages meanwhile, and this page must not be applied twice.
    /// </returns>
    public List<IndexChange>? ApplyPage(IReadOnlyList<Change> changes, string fromCursor, string cursor, bool reset, DateTimeOffset now, SyncLag? lag = null)
    {
        var indexChanges = new List<IndexChange>();
        // BEGIN IMMEDIATE: the write lock is taken before the cursor is compared.
        using var transaction = _writer.BeginTransaction(deferred: false);
        if (reset)
        {
            Execute(_writer, transaction, "DELETE FROM signals; DELETE FROM meta;");
        }
        else
        {
            using var current = Command(_writer, transaction, "SELECT value FROM meta WHERE key = $key", "$key", out var key);
            key.Value = CursorKey;
            if (((current.ExecuteScalar() as string) ?? string.Empty) != fromCursor)
            {
                return null;
            }
        }
        using var find = Command(_writer, transaction, "SELECT id, active FROM signals WHERE hub_id = $hub_id", "$hub_id", out var findHubId);
        using var insert = _writer.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = """
            INSERT INTO signals (hub_id, type, value, active, record) VALUES ($hub_id, $type, $value, $active, $record)
            RETURNING id
            """;
        var insHub = insert.Parameters.Add("$hub_id", SqliteType.Text);
        var insType = insert.Parameters.Add("$type", SqliteType.Text);
        var insValue = insert.Parameters.Add("$value", SqliteType.Text);
        var insActive = insert.Parameters.Add("$active", SqliteType.Integer);
        var insRecord = insert.Parameters.Add("$record", SqliteType.Blob);
        using var update = _writer.CreateCommand();
        update.Transaction = transaction;
        update.CommandText = "UPDATE signals SET active = $active, record = $record WHERE id = $id";
        var updActive = update.Parameters.Add("$active", SqliteType.Integer);
        var updRecord = update.Parameters.Add("$record", SqliteType.Blob);
        var updId = update.Parameters.Add("$id", SqliteType.Integer);

        foreach (var change in changes)
        {
            var record = change.Signal;
            var type = SignalTypeNames.Of(record.Signal.Type);
            var value = record.Signal.Value;
            var active = record.Status == SignalStatus.Active;
            findHubId.Value = record.Id;
            int? id = null;
            var wasActive = false;
            using (var reader = find.ExecuteReader())
            {
                if (reader.Read())
                {
                    id = checked((int)reader.GetInt64(0));
                    wasActive = reader.GetInt64(1) == 1;
                }
            }
            var bytes = record.ToByteArray();
            if (id is null)
            {
                insHub.Value = record.Id;
                insType.Value = type;
                insValue.Value = value;
                insActive.Value = active ? 1 : 0;
                insRecord.Value = bytes;
                id = checked((int)(long)insert.ExecuteScalar()!);
            }
            else
            {
                updActive.Value = active ? 1 : 0;
                updRecord.Value = bytes;
                updId.Value = id.Value;
                update.ExecuteNonQuery();
            }
            // A signal's type and value never change at the hub, so only its status moves it in or out of the index;
            // relabels and new contributions change the stored record, which matches read.
            if (active && !wasActive)
            {
                indexChanges.Add(new IndexChange(id.Value, type, value, Add: true));
            }
            else if (!active && wasActive)
            {
                indexChanges.Add(new IndexChange(id.Value, type, value, Add: false));
            }
        }

        WriteMeta(transaction, CursorKey, cursor);
        Execute(_writer, transaction, """
            INSERT INTO meta (key, value) VALUES ('changes_applied', $n)
            ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + $n
            """, ("$n", changes.Count));
        WriteMeta(transaction, LastSyncedKey, now.ToString("O", CultureInfo.InvariantCulture));
        if (lag is null)
        {
            Execute(_writer, transaction, "DELETE FROM meta WHERE key = $key", ("$key", LagKey));
        }
        else
        {
            WriteMeta(transaction, LagKey, FormatLag(lag));
        }
        BeforeCommit?.Invoke();
        transaction.Commit();
        return indexChanges;
    }

    public void Dispose()
    {
        _writer.Dispose();
        // Pooled reader connections keep the file open; release them so the member can move or delete it.
        SqliteConnection.ClearPool(new SqliteConnection(_connectionString));
        _ownership.Dispose();
    }

    // "changes;head;cursor;observed": UTC ticks, empty for an unknown time.
    private static string FormatLag(SyncLag lag) => string.Join(';',
        lag.ChangesBehind.ToString(CultureInfo.InvariantCulture), Ticks(lag.HeadCommittedAt), Ticks(lag.CursorCommittedAt), Ticks(lag.ObservedAt));

    private static string Ticks(DateTimeOffset? time) => time?.UtcTicks.ToString(CultureInfo.InvariantCulture) ?? string.Empty;

    private static SyncLag? ParseLag(string? stored)
    {
        var parts = stored?.Split(';');
        if (parts is not { Length: 4 } || !long.TryParse(parts[0], CultureInfo.InvariantCulture, out var changes))
        {
            return null;
        }
        return new SyncLag(changes, Time(parts[1]), Time(parts[2]), Time(parts[3]) ?? default);

        static DateTimeOffset? Time(string ticks) =>
            long.TryParse(ticks, CultureInfo.InvariantCulture, out var t) ? new DateTimeOffset(t, TimeSpan.Zero) : null;
    }

    private SqliteConnection OpenReader()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    private string? ReadMeta(string key)
    {
        using var connection = OpenReader();
        using var command = Command(connection, null, "SELECT value FROM meta WHERE key = $key", "$key", out var p);
        p.Value = key;
        return command.ExecuteScalar() as string;
    }

    private void WriteMeta(SqliteTransaction transaction, string key, string value) =>
        Execute(_writer, transaction, "INSERT INTO meta (key, value) VALUES ($key, $value) ON CONFLICT (key) DO UPDATE SET value = $value",
            ("$key", key), ("$value", value));

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? transaction, string sql, string name, out SqliteParameter parameter)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        parameter = command.Parameters.Add(name, SqliteType.Text);
        return command;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? transaction, string sql, params (string Name, object Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }
        command.ExecuteNonQuery();
    }
}

/// <summary>A signal entering (<paramref name="Add"/>) or leaving the match index after a committed page.</summary>
internal readonly record struct IndexChange(int Id, string Type, string Value, bool Add);

/// <summary>What the store holds.</summary>
internal readonly record struct StoreCounts(long Signals, long Active, long ChangesApplied, DateTimeOffset? LastSyncedAt, string Cursor, SyncLag? Lag);

/// <summary>The wire's signal types by the Core names used in the store and the indexes.</summary>
internal static class SignalTypeNames
{
    public static string Of(SignalType type) => type switch
    {
        SignalType.Pdq => "pdq",
        SignalType.Md5 => "md5",
        SignalType.Sha256 => "sha256",
        SignalType.Url => "url",
        SignalType.Photodna => "photodna",
        SignalType.Vpdq => "vpdq",
        _ => "unknown",
    };
}
