using System.Globalization;
using System.Security.Cryptography;
using HashHub.Server.Sync;
using HashHub.Server.Taxonomy;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace HashHub.Server.Storage;

/// <summary>
/// Brings the database up to date when the hub starts (before it listens): applies migrations when configured,
/// seeds the default taxonomy into an empty label table, and reads (or makes) the change log's epoch.
/// </summary>
internal sealed partial class HubStorageInitializer(IServiceProvider services, IOptions<StorageOptions> options, HubEpoch epoch, ILogger<HubStorageInitializer> logger)
    : IHostedService
{
    private const string EpochKey = "change_log_epoch";

    public Task StartAsync(CancellationToken cancellationToken) => InitializeAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<HubDbContext>();
        var time = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        if (options.Value.MigrateOnStart)
        {
            await db.Database.MigrateAsync(cancellationToken);
        }
        LogStorage(logger, db.Provider, db.Database.GetDbConnection().DataSource);

        if (!await db.Labels.AnyAsync(cancellationToken))
        {
            db.Labels.AddRange(DefaultLabels.Create(time.GetUtcNow()));
        }
        var setting = await db.Settings.SingleOrDefaultAsync(s => s.Key == EpochKey, cancellationToken);
        if (setting is null)
        {
            setting = new HubSetting { Key = EpochKey, Value = BitConverter.ToInt64(RandomNumberGenerator.GetBytes(8)).ToString(CultureInfo.InvariantCulture) };
            db.Settings.Add(setting);
        }
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another node initialised the same database at the same moment: take what it wrote.
            db.ChangeTracker.Clear();
            setting = await db.Settings.SingleAsync(s => s.Key == EpochKey, cancellationToken);
        }
        epoch.Value = long.Parse(setting.Value, CultureInfo.InvariantCulture);
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Storage: {Provider} at {DataSource}")]
    private static partial void LogStorage(ILogger logger, StorageProvider provider, string dataSource);
}
