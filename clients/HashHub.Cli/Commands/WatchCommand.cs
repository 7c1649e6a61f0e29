using System.Globalization;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Profiles;
using HashHub.Client;
using HashHub.Client.Sync;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary><c>hashhub watch</c>: live sync into the profile's store until Ctrl+C, one line per event.</summary>
internal sealed class WatchCommand(CliOutput output) : AsyncCommand<HubSettings>
{
    public const string Description =
        "Live sync: keep a subscription to the hub open and apply each change as it commits, printing each burst; " +
        "reconnects and resumes by itself. Runs until Ctrl+C.";

    public override async Task<int> ExecuteAsync(CommandContext context, HubSettings settings, CancellationToken cancellationToken)
    {
        var profile = ProfileStore.Load(settings.ConfigPath, settings.Profile);
        await using var hub = await HashHubClient.OpenAsync(profile.ToOptions(), cancellationToken).ConfigureAwait(false);
        // Events arrive on the SDK's sync loop; one writer at a time keeps lines whole.
        var gate = new Lock();
        await hub.RunLiveSyncAsync(e =>
        {
            var line = e.Kind switch
            {
                SyncEventKind.Connected => "connected",
                SyncEventKind.Applied => string.Create(CultureInfo.InvariantCulture, $"applied {e.Changes} change(s), cursor {e.Cursor}"),
                SyncEventKind.CaughtUp => $"caught up, cursor {e.Cursor}",
                SyncEventKind.Resyncing => "the hub asked for a full resync",
                SyncEventKind.Bootstrapped => string.Create(CultureInfo.InvariantCulture, $"loaded {e.Changes} signal(s) from the hub's snapshot, cursor {e.Cursor}"),
                SyncEventKind.Disconnected => $"disconnected ({e.Error?.Message ?? "no reason"}); reconnecting",
                _ => e.Kind.ToString(),
            };
            lock (gate)
            {
                output.Out.WriteLine(line);
                output.Out.Flush();
            }
        }, cancellationToken).ConfigureAwait(false);
        output.Out.WriteLine("stopped");
        return ExitCodes.Cancelled;
    }
}
