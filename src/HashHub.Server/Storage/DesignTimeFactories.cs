using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace HashHub.Server.Storage;

// Used by `dotnet ef migrations add` only: each provider's migrations are generated from its own context.
// The connection strings are placeholders; generating a migration opens no connection.

internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteHubDbContext>
{
    public SqliteHubDbContext CreateDbContext(string[] args)
    {
        var b = new DbContextOptionsBuilder<SqliteHubDbContext>();
        StorageServiceCollectionExtensions.ConfigureSqlite(b, "Data Source=design.db");
        return new SqliteHubDbContext(b.Options);
    }
}

internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresHubDbContext>
{
    public PostgresHubDbContext CreateDbContext(string[] args)
    {
        var b = new DbContextOptionsBuilder<PostgresHubDbContext>();
        StorageServiceCollectionExtensions.ConfigurePostgres(b, "Host=localhost;Database=hashhub");
        return new PostgresHubDbContext(b.Options);
    }
}

internal sealed class SqlServerDesignTimeFactory : IDesignTimeDbContextFactory<SqlServerHubDbContext>
{
    public SqlServerHubDbContext CreateDbContext(string[] args)
    {
        var b = new DbContextOptionsBuilder<SqlServerHubDbContext>();
        StorageServiceCollectionExtensions.ConfigureSqlServer(b, "Server=localhost;Database=hashhub;TrustServerCertificate=True");
        return new SqlServerHubDbContext(b.Options);
    }
}
