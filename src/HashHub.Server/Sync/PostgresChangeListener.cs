using HashHub.Server.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HashHub.Server.Sync;

/// <summary>
/// Live pushes across hub nodes that share one PostgreSQL database: every commit that appends changes also
/// sends <c>NOTIFY hashhub_changes</c> (delivered by PostgreSQL at commit) with the last sequence number it
/// appended, and each node listens and wakes its live subscribers and its match-index feeder at once instead of
/// at their next poll.
/// </summary>
internal sealed partial class PostgresChangeListener(IOptions<StorageOptions> options, ChangeNotifier notifier, ILogger<PostgresChangeListener> logger)
    : BackgroundService
{
    public const string Channel = "hashhub_changes";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var connectionString = new NpgsqlConnectionStringBuilder(options.Value.ResolveConnectionString())
        {
            // LISTEN needs its own connection for as long as the node runs; keep it out of the pool.
            Pooling = false,
            KeepAlive = 30,
        }.ConnectionString;
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(stoppingToken);
                // The payload names the last change the commit appended (PostgresBulkWriter.AppendLogAsync).
                connection.Notification += (_, e) => notifier.Notify(
                    long.TryParse(e.Payload, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var head) ? head : null);
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(stoppingToken);
                }
                // Changes committed while no listener ran are picked up by the subscribers' polls; wake them now.
                notifier.Notify();
                delay = TimeSpan.FromSeconds(1);
                while (!stoppingToken.IsCancellationRequested)
                {
                    await connection.WaitAsync(stoppingToken);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or System.IO.IOException)
            {
                LogListenFailed(logger, ex, delay);
                await Task.Delay(delay, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                delay = TimeSpan.FromSeconds(Math.Min(30, delay.TotalSeconds * 2));
            }
        }
    }

    [LoggerMessage(EventId = 2100, Level = LogLevel.Warning, Message = "Listening for changes of other hub nodes failed; retrying in {Delay} (subscribers still poll)")]
    private static partial void LogListenFailed(ILogger logger, Exception ex, TimeSpan delay);
}
