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
        StorageProvider.Postgres => WithoutJit(ConnectionString!),
        _ => ConnectionString!,
    };

    /// <summary>
    /// Turns PostgreSQL's JIT compilation off for the hub's sessions, unless the connection string sets it. The
    /// hub's queries are short index walks (a page of the change log, a batch of inserts) whose cost estimates
    /// still cross <c>jit_above_cost</c> on large tables: PostgreSQL then spends 100-800 ms compiling a query
    /// that runs in 5-10 ms, which made a full sync spend more than 80% of the database's CPU in LLVM.
    /// </summary>
    private static string WithoutJit(string connectionString)
    {
        var builder = new Npgsql.NpgsqlConnectionStringBuilder(connectionString);
        if (builder.Options?.Contains("jit", StringComparison.OrdinalIgnoreCase) != true)
        {
            builder.Options = string.IsNullOrWhiteSpace(builder.Options) ? "-c jit=off" : builder.Options + " -c jit=off";
        }
        return builder.ConnectionString;
    }
}
