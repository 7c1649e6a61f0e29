using System.ComponentModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Grpc.Core;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Profiles;
using HashHub.Client;
using HashHub.Client.Sync;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary>
/// <c>hashhub status</c>: what the profile's local store holds, and how far it is behind the hub. The local part
/// always shows; the lag comes from the hub (one small call that reads no change), and when the hub does not answer
/// the command says so and shows the lag saved at the last sync instead.
/// </summary>
internal sealed class StatusCommand(CliOutput output) : AsyncCommand<StatusCommand.Settings>
{
    public const string Description =
        "Show the profile's local store (cursor, signals held, changes applied, last sync) and its lag behind the hub: " +
        "how many changes the hub holds after the cursor (at most: it counts changes this member does not receive, such " +
        "as other sharing groups' contributions) and how much newer the hub's newest change is than the cursor's. " +
        "When the hub does not answer, says so and shows the lag saved at the last sync.";

    /// <summary>How long status waits for the hub before showing the saved lag instead.</summary>
    private static readonly TimeSpan HubWait = TimeSpan.FromSeconds(10);

    internal sealed class Settings : HubSettings
    {
        [CommandOption("--json")]
        [Description("Print one JSON object instead of text.")]
        public bool Json { get; set; }

        [CommandOption("--offline")]
        [Description("Do not ask the hub: show the lag saved at the last sync.")]
        public bool Offline { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var profile = ProfileStore.Load(settings.ConfigPath, settings.Profile);
        var options = profile.ToOptions();
        // Status answers quickly: one retry, short attempts; a hub that does not answer is reported, not waited for.
        options.Resilience.MaxRetryAttempts = 1;
        options.Resilience.AttemptTimeout = TimeSpan.FromSeconds(5);
        await using var hub = await HashHubClient.OpenAsync(options, cancellationToken).ConfigureAwait(false);
        var status = hub.GetStoreStatus();

        SyncLag? lag = null;
        string? lagError = null;
        if (!settings.Offline)
        {
            using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            wait.CancelAfter(HubWait);
            try
            {
                lag = await hub.GetLagAsync(wait.Token).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.FailedPrecondition)
            {
                // "resync required: ...": the next sync starts over.
                lagError = $"the hub answered {e.Status.Detail} (run 'hashhub sync')";
            }
            catch (Exception e) when ((e is RpcException or OperationCanceledException) && !cancellationToken.IsCancellationRequested)
            {
                // Our own wait running out surfaces as Cancelled (or as a cancellation), not as the hub's answer.
                lagError = wait.IsCancellationRequested
                    ? string.Create(CultureInfo.InvariantCulture, $"the hub did not answer within {HubWait.TotalSeconds:0} s")
                    : e is RpcException rpc ? $"the hub did not answer ({rpc.StatusCode}: {rpc.Status.Detail})" : "the hub did not answer";
            }
        }

        if (settings.Json)
        {
            var line = new StatusLine(
                settings.Profile, profile.Hub, profile.ClientId, status.StorePath, status.Cursor, status.SignalsHeld, status.ActiveSignals,
                status.ChangesApplied, status.LastSyncedAt, LagJson.Of(lag), lagError, LagJson.Of(status.LastKnownLag));
            output.Out.WriteLine(JsonSerializer.Serialize(line, StatusLine.Options));
            return ExitCodes.Success;
        }

        var o = output.Out;
        o.WriteLine($"profile         {settings.Profile}");
        o.WriteLine($"hub             {profile.Hub}");
        o.WriteLine($"client id       {profile.ClientId}");
        o.WriteLine($"store           {status.StorePath}");
        o.WriteLine($"cursor          {(status.Cursor.Length == 0 ? "(never synced)" : status.Cursor)}");
        if (lag is not null)
        {
            o.WriteLine($"lag             {Describe(lag)}");
        }
        else
        {
            o.WriteLine($"lag             {lagError ?? "not asked (--offline)"}");
            if (status.LastKnownLag is { } known)
            {
                o.WriteLine($"last known lag  {Describe(known)} (as of {known.ObservedAt.ToString("u", CultureInfo.InvariantCulture)})");
            }
        }
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"signals held    {status.SignalsHeld} ({status.ActiveSignals} active)"));
        o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"changes applied {status.ChangesApplied}"));
        o.WriteLine($"last sync       {status.LastSyncedAt?.ToString("u", CultureInfo.InvariantCulture) ?? "never"}");
        return ExitCodes.Success;
    }

    /// <summary>"up to date", or "at most N changes behind; the hub's newest change is 5m 3s newer than the cursor's".</summary>
    internal static string Describe(SyncLag lag)
    {
        if (lag.UpToDate)
        {
            return "up to date (0 changes behind)";
        }
        var count = string.Create(CultureInfo.InvariantCulture, $"at most {lag.ChangesBehind} change{(lag.ChangesBehind == 1 ? "" : "s")} behind");
        return lag.TimeBehind is { } time
            ? $"{count}; the hub's newest change is {Duration(time)} newer than the cursor's"
            : $"{count} (never synced)";
    }

    private static string Duration(TimeSpan t) => t switch
    {
        { TotalDays: >= 1 } => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalDays}d {t.Hours}h"),
        { TotalHours: >= 1 } => string.Create(CultureInfo.InvariantCulture, $"{t.Hours}h {t.Minutes}m"),
        { TotalMinutes: >= 1 } => string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m {t.Seconds}s"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.0}s"),
    };
}

/// <summary>The lag in <c>hashhub status --json</c>: times in ISO 8601, seconds behind as a number (null when unknown).</summary>
internal sealed record LagJson(long ChangesBehind, double? SecondsBehind, DateTimeOffset? HeadCommittedAt, DateTimeOffset? CursorCommittedAt, DateTimeOffset ObservedAt)
{
    public static LagJson? Of(SyncLag? lag) => lag is null
        ? null
        : new(lag.ChangesBehind, lag.TimeBehind?.TotalSeconds, lag.HeadCommittedAt, lag.CursorCommittedAt, lag.ObservedAt);
}

/// <summary>One line of <c>hashhub status --json</c>; <c>lag</c> is the hub's answer now (null with <c>lag_error</c> when it gave none).</summary>
internal sealed record StatusLine(
    string Profile, string Hub, string ClientId, string Store, string Cursor, long SignalsHeld, long ActiveSignals, long ChangesApplied,
    DateTimeOffset? LastSyncedAt, LagJson? Lag, string? LagError, LagJson? LastKnownLag)
{
    public static readonly JsonSerializerOptions Options = new()
    {
        // snake_case names, as the other commands' JSON; nulls are written, so every key is always there.
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = StatusJsonContext.Default,
    };
}

[JsonSerializable(typeof(StatusLine))]
internal sealed partial class StatusJsonContext : JsonSerializerContext;
