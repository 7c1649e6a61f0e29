using System.ComponentModel;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Profiles;
using HashHub.Client;
using HashHub.Client.Matching;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary>
/// <c>hashhub match</c>: hashes files locally and matches them against the profile's synced store (or on the hub),
/// through the SDK. Exit 0: nothing matched; 1: something matched; 2: a file or the hub failed.
/// </summary>
internal sealed class MatchCommand(CliOutput output) : AsyncCommand<MatchCommand.Settings>
{
    public const string Description =
        "Hash files locally and match them against the list synced into the profile's store (run 'hashhub sync' first), " +
        "or on the hub with --hub-side. Exit status: 0 nothing matched, 1 something matched, 2 error.";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = MatchJsonContext.Default,
    };

    internal sealed class Settings : HubSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("Files to match (images match by PDQ and exact hashes; other files by exact hashes).")]
        public string[] Files { get; set; } = [];

        [CommandOption("--json")]
        [Description("One JSON object per file and line: file, action, matches (signal_id, type, distance, labels, contributors, confidence, status, action).")]
        public bool Json { get; set; }

        [CommandOption("--hub-side")]
        [Description("Match on the hub (only the hashes are sent) instead of against the local store.")]
        public bool HubSide { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var profile = ProfileStore.Load(settings.ConfigPath, settings.Profile);
        await using var hub = await HashHubClient.OpenAsync(profile.ToOptions(settings.HubSide), cancellationToken).ConfigureAwait(false);
        var matched = false;
        var failed = false;
        foreach (var file in settings.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            MatchResult result;
            try
            {
                result = await hub.MatchAsync(file, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // One unreadable file does not stop the others; the exit status still says error.
                output.WriteError(InputException.CannotRead(file, e).Message);
                failed = true;
                continue;
            }
            matched |= result.IsMatch;
            if (settings.Json)
            {
                WriteJson(file, result);
            }
            else
            {
                WriteText(file, result);
            }
        }
        return failed ? ExitCodes.InputError : matched ? ExitCodes.Matched : ExitCodes.Success;
    }

    private void WriteText(string file, MatchResult result)
    {
        var o = output.Out;
        if (!result.IsMatch)
        {
            o.WriteLine($"{file}: no match");
            return;
        }
        o.WriteLine($"{file}: {result.Matches.Count} match(es), action {Word(result.Action)}");
        foreach (var m in result.Matches)
        {
            o.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {m.SignalType} distance {m.Distance} confidence {m.Confidence:0.###} action {Word(m.Action)} signal {m.SignalId}"));
            o.WriteLine($"    labels       {string.Join(", ", m.Labels)}");
            o.WriteLine($"    contributors {string.Join(", ", m.Contributors.Select(c => c.MemberName))}");
        }
    }

    private void WriteJson(string file, MatchResult result)
    {
        var record = new MatchRecord(file, Word(result.Action), [.. result.Matches.Select(m => new MatchEntry(
            m.SignalId, m.SignalType, m.Value, m.Distance, m.Labels, [.. m.Contributors.Select(c => c.MemberName)],
            m.Confidence, m.Status == MatchStatus.Active ? "active" : "contributors_suspended", Word(m.Action)))]);
        output.Out.WriteLine(JsonSerializer.Serialize(record, JsonOptions));
    }

    private static string Word(MatchAction action) => action switch
    {
        MatchAction.Block => "block",
        MatchAction.Review => "review",
        _ => "allow",
    };
}

/// <summary>One line of <c>hashhub match --json</c>.</summary>
internal sealed record MatchRecord(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("action")] string Action,
    [property: JsonPropertyName("matches")] IReadOnlyList<MatchEntry> Matches);

internal sealed record MatchEntry(
    [property: JsonPropertyName("signal_id")] string SignalId,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("value")] string Value,
    [property: JsonPropertyName("distance")] int Distance,
    [property: JsonPropertyName("labels")] IReadOnlyList<string> Labels,
    [property: JsonPropertyName("contributors")] IReadOnlyList<string> Contributors,
    [property: JsonPropertyName("confidence")] double Confidence,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("action")] string Action);

[JsonSerializable(typeof(MatchRecord))]
internal sealed partial class MatchJsonContext : JsonSerializerContext;
