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
        _ => ConnectionString!,
    };
}
