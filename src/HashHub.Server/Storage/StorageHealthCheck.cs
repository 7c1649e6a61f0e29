using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace HashHub.Server.Storage;

/// <summary>The hub is serving only while it can reach its database.</summary>
internal sealed class StorageHealthCheck(HubDbContext db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await db.Database.CanConnectAsync(cancellationToken)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The database cannot be reached.");
}
