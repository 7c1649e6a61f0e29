using System.Globalization;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Profiles;
using HashHub.Client;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary><c>hashhub status</c>: what the profile's local store holds. Reads only the local store (no hub call).</summary>
internal sealed class StatusCommand(CliOutput output) : AsyncCommand<HubSettings>
{
    public const string Description =
        "Show the profile's hub and local store: cursor, signals held, changes applied and the last sync. " +
        "Reads the local store only (the SDK does not expose the hub's head, so the lag is not shown: run 'hashhub sync').";

    public override async Task<int> ExecuteAsync(CommandContext context, HubSettings settings, CancellationToken cancellationToken)
    {
        var profile = ProfileStore.Load(settings.ConfigPath, settings.Profile);
        await using var hub = await HashHubClient.OpenAsync(profile.ToOptions(), cancellationToken).ConfigureAwait(false);
        var status = hub.GetStoreStatus();
        var o = output.Out;
        o.WriteLine($"profile         {settings.Profile}");
        o.WriteLine($"hub             {profile.Hub}");
        o.WriteLine($"client id       {profile.ClientId}");
        o.WriteLine($"store           {status.StorePath}");
        o.WriteLine($"cursor          {(status.Cursor.Length == 0 ? "(never synced)" : status.Cursor)}");
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"signals held    {status.SignalsHeld} ({status.ActiveSignals} active)"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"changes applied {status.ChangesApplied}"));
        o.WriteLine($"last sync       {status.LastSyncedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "never"}");
        return ExitCodes.Success;
    }
}
