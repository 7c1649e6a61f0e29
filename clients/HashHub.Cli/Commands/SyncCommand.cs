using System.Diagnostics;
using System.Globalization;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Profiles;
using HashHub.Client;
using HashHub.Client.Sync;
using Spectre.Console;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary><c>hashhub sync</c>: brings the profile's local store up to date with the hub (paged, resumable).</summary>
internal sealed class SyncCommand(CliOutput output) : AsyncCommand<HubSettings>
{
    public const string Description =
        "Bring the profile's local store up to date: the first sync copies everything the member may see, later ones " +
        "only the changes since. Interrupted syncs resume where they stopped. Prints the changes applied, the rate and the cursor.";

    public override async Task<int> ExecuteAsync(CommandContext context, HubSettings settings, CancellationToken cancellationToken)
    {
        var profile = ProfileStore.Load(settings.ConfigPath, settings.Profile);
        await using var hub = await HashHubClient.OpenAsync(profile.ToOptions(), cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        // A live line with the counts and the rate on a terminal (stderr, so results on stdout stay clean); nothing
        // when redirected. The hub says only how many changes remain at most, so it is a counter, not a bar.
        var result = await output.ErrorConsole.Status()
            .StartAsync("syncing...", status => hub.SyncAsync(new StatusProgress(status, started), cancellationToken)).ConfigureAwait(false);
        var elapsed = Stopwatch.GetElapsedTime(started);
        var rate = elapsed.TotalSeconds > 0 ? result.ChangesApplied / elapsed.TotalSeconds : 0;
        output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"applied {result.ChangesApplied} changes in {result.Pages} page(s), {elapsed.TotalSeconds:0.0} s ({rate:0} changes/s){Note(result)}"));
        output.Out.WriteLine($"cursor {result.Cursor}");
        var status = hub.GetStoreStatus();
        output.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"signals held {status.SignalsHeld} ({status.ActiveSignals} active)"));
        return ExitCodes.Success;
    }

    /// <summary>Updates the status line synchronously on each page (Progress&lt;T&gt; would post it to the thread pool, out of order).</summary>
    private sealed class StatusProgress(StatusContext status, long started) : IProgress<SyncResult>
    {
        public void Report(SyncResult value)
        {
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            var rate = seconds > 0 ? value.ChangesApplied / seconds : 0;
            // The hub's count of what lies after the cursor bounds what remains from above (it includes changes this
            // member does not receive), so it is shown as "at most", not as a bar's total.
            var remaining = value.Lag is { } lag ? string.Create(CultureInfo.InvariantCulture, $", at most {lag.ChangesBehind:N0} to go") : "";
            status.Status(string.Create(CultureInfo.InvariantCulture,
                $"syncing: {value.ChangesApplied:N0} changes in {value.Pages} page(s), {rate:N0} changes/s{remaining}"));
        }
    }

    private static string Note(SyncResult result) =>
        (result.Resynced ? "; the hub asked for a full resync" : result.Bootstrapped ? "; first sync (bootstrap)" : "")
        + (result.FromSnapshot ? ", from the hub's snapshot (each active signal once) and the changes after it" : "");
}
