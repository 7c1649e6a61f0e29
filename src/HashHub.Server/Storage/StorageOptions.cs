using System.ComponentModel.DataAnnotations;

namespace HashHub.Server.Storage;

public enum StorageProvider
{
    Sqlite,
    Postgres,
    SqlServer,
}

/// <summary>The <c>Storage</c> configuration section.</summary>
public sealed class StorageOptions
{
    public const string Section = "Storage";

    /// <summary>Sqlite (default, embedded: no server to install), Postgres (production) or SqlServer.</summary>
    public StorageProvider Provider { get; set; } = StorageProvider.Sqlite;

    /// <summary>
    /// The provider's connection string. For SQLite it may be left empty: the database is then
    /// <c>{DataDirectory}/hashhub.db</c>.
    /// </summary>
    public string? ConnectionString { get; set; }

    /// <summary>Folder for the hub's own files (SQLite database, token signing keys). Default <c>data</c>.</summary>
    [Required]
    public string DataDirectory { get; set; } = "data";

    /// <summary>Apply pending migrations when the hub starts (default true).</summary>
    public bool MigrateOnStart { get; set; } = true;

    internal string ResolveConnectionString() => Provider switch
    {
        StorageProvider.Sqlite when string.IsNullOrWhiteSpace(ConnectionString) =>
            $"Data Source={Path.Combine(Path.GetFullPath(DataDirectory), "hashhub.db")};Pooling=True",
        _ when string.IsNullOrWhiteSpace(ConnectionString) =>
            throw new InvalidOperationException($"Storage:ConnectionString is required for the {Provider} provider."),
        StorageProvider.Postgres => WithSessionDefaults(ConnectionString!),
        _ => ConnectionString!,
    };

    /// <summary>
    /// PostgreSQL settings for the hub's sessions, each unless the connection string's <c>Options</c> set it. The
    /// hub's queries are short index walks (a page of the change log, a batch of inserts, a read at the log's head),
    /// and on large tables the planner's estimates lead it into two costly choices for them:
    /// <list type="bullet">
    /// <item><c>jit=off</c>: estimates crossed <c>jit_above_cost</c>, and PostgreSQL spent 100-800 ms compiling a
    /// query that runs in 5-10 ms, which made a full sync spend more than 80% of the database's CPU in LLVM.</item>
    /// <item><c>max_parallel_workers_per_gather=0</c>: a read of the changes after a position near the log's head
    /// (the match index's feed after each commit, a live subscription's) was estimated at a thousand rows and
    /// planned with a parallel worker, a process started for the query: 30-60 ms for a read that finds nothing,
    /// half of PostgreSQL's CPU during a bulk ingest into a million-signal log.</item>
    /// <item><c>plan_cache_mode=force_custom_plan</c>: the hub's statements are prepared (see
    /// <see cref="WithSessionDefaults"/>), and after five runs PostgreSQL may switch a prepared statement to a
    /// generic plan, one made without the parameters' values; a page of the log planned without its cursor could
    /// become a scan of the whole log. Every run is planned with its values, as before the statements were
    /// prepared; preparing still spares the parsing and analysis.</item>
    /// </list>
    /// </summary>
    internal static readonly (string Name, string Value)[] PostgresSessionDefaults =
        [("jit", "off"), ("max_parallel_workers_per_gather", "0"), ("plan_cache_mode", "force_custom_plan")];

    /// <summary>How many statements Npgsql keeps prepared per connection, unless the connection string says.</summary>
    internal const int PostgresMaxAutoPrepare = 64;

    private static string WithSessionDefaults(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        // A pooled connection is not reset (DISCARD ALL) between uses, unless the connection string says so: the
        // hub leaves no session state behind (no SET, temporary tables, session-level locks or LISTEN on pooled
        // connections; its advisory lock is the transaction's; the prepared statements below are Npgsql's own, kept
        // on purpose), and a batch of contributions opened and closed its connection about five times, each reset a
        // statement for PostgreSQL to run. A/B, two pairs at 520,000 signals with 4 writers: hub and PostgreSQL 44.1
        // and 44.7 us per signal with the resets, 39.7 and 39.6 without.
        var given = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        if (!Sets(given, "No Reset On Close"))
        {
            builder.NoResetOnClose = true;
        }
        // Statements run five times on a connection are prepared there (Npgsql's automatic preparation), unless the
        // connection string says otherwise (a pooler in transaction mode without prepared-statement support needs
        // Max Auto Prepare=0). Parsing and analysing the same statements again was 3.6% of PostgreSQL's CPU during
        // ingest (perf of its sessions, 4 writers); prepared, about 0.1%.
        if (!Sets(given, "Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = PostgresMaxAutoPrepare;
        }
        foreach (var (name, value) in PostgresSessionDefaults)
        {
            if (builder.Options?.Contains(name, StringComparison.OrdinalIgnoreCase) != true)
            {
                builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? $"-c {name}={value}" : $"{builder.Options} -c {name}={value}";
            }
        }
        return builder.ConnectionString;
    }

    // Whether the operator's connection string names a keyword, spelled with its spaces or without (Npgsql takes both).
    private static bool Sets(System.Data.Common.DbConnectionStringBuilder given, string keyword) =>
        given.ContainsKey(keyword) || given.ContainsKey(keyword.Replace(" ", string.Empty, StringComparison.Ordinal));
}
