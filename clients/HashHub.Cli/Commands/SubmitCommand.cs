using System.ComponentModel;
using Grpc.Core;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Profiles;
using HashHub.Client;
using HashHub.Client.Contributing;
using Spectre.Console;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary><c>hashhub submit</c>: hashes files locally and contributes their hashes with labels (through the SDK).</summary>
internal sealed partial class SubmitCommand(CliOutput output) : AsyncCommand<SubmitCommand.Settings>
{
    public const string Description =
        "Hash files locally and contribute their hashes (PDQ for images, MD5 and SHA-256) as takedowns with the given " +
        "labels. Only hashes leave this machine. Prints each signal's id and the contribution id to retract it with. " +
        "With --group, only the members of those sharing groups (and the admins) see the contributions.";

    private static readonly Dictionary<string, ContributionSource> Sources = new(StringComparer.OrdinalIgnoreCase)
    {
        ["upload"] = ContributionSource.Upload,
        ["livestream"] = ContributionSource.Livestream,
        ["user_report"] = ContributionSource.UserReport,
        ["referral"] = ContributionSource.Referral,
        ["proactive"] = ContributionSource.Proactive,
    };

    internal sealed class Settings : HubSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("The files taken down.")]
        public string[] Files { get; set; } = [];

        [CommandOption("-l|--label <LABEL>")]
        [Description("A label key from the hub's taxonomy (repeat for several), for example behavior:glorification.")]
        public string[] Labels { get; set; } = [];

        [CommandOption("--source <SOURCE>")]
        [Description("How the content was found: upload, livestream, user_report, referral or proactive.")]
        [DefaultValue("upload")]
        public string Source { get; set; } = "upload";

        [CommandOption("--incident <ID>")]
        [Description("The crisis incident declared by the consortium, if any.")]
        public string? Incident { get; set; }

        [CommandOption("-g|--group <ID>")]
        [Description("Share only with this sharing group (its grp_... id; repeat for several). You must belong to it. Default: every member.")]
        public string[] Groups { get; set; } = [];

        [CommandOption("--case-ref <REF>")]
        [Description("Your own case reference for the preserved evidence (at most 200 characters).")]
        public string? CaseRef { get; set; }

        public override ValidationResult Validate()
        {
            var baseResult = base.Validate();
            if (!baseResult.Successful)
            {
                return baseResult;
            }
            if (Labels.Length == 0 || Labels.Any(string.IsNullOrWhiteSpace))
            {
                return ValidationResult.Error("give at least one --label (for example --label behavior:glorification).");
            }
            if (Groups.Any(string.IsNullOrWhiteSpace))
            {
                return ValidationResult.Error("--group needs a sharing group id (for example --group grp_0123456789abcdef).");
            }
            return Sources.ContainsKey(Source)
                ? ValidationResult.Success()
                : ValidationResult.Error($"--source must be one of {string.Join(", ", Sources.Keys)}, got '{Source}'.");
        }

        public ContributionProvenance Provenance => new(Sources[Source], Incident, CaseRef);
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var profile = ProfileStore.Load(settings.ConfigPath, settings.Profile);
        // Contributing needs no local store.
        await using var hub = await HashHubClient.OpenAsync(profile.ToOptions(matchOnHub: true), cancellationToken).ConfigureAwait(false);
        var exitCode = ExitCodes.Success;
        foreach (var file in settings.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            ContributionReceipt receipt;
            try
            {
                receipt = await hub.ContributeAsync(file, settings.Labels, settings.Provenance, settings.Groups, cancellationToken).ConfigureAwait(false);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
            {
                // The same labels and groups go with every file: the rest would be refused alike.
                output.WriteError($"{file}: the hub refused the contribution ({e.StatusCode}); nothing was recorded:");
                foreach (var line in Explain(HubErrors.FieldViolations(e), settings))
                {
                    output.Error.WriteLine("  " + line);
                }
                return ExitCodes.InputError;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                output.WriteError(InputException.CannotRead(file, e).Message);
                exitCode = ExitCodes.InputError;
                continue;
            }
            output.Out.WriteLine($"{file}:{(receipt.Replayed ? " (already recorded)" : "")}");
            foreach (var s in receipt.Signals)
            {
                var note = s.Held ? " (held for review: member on probation)" : s.SignalCreated ? "" : " (already shared)";
                output.Out.WriteLine($"  {s.SignalType,-6} signal {s.SignalId} contribution {s.ContributionId}{note}");
            }
        }
        return exitCode;
    }

    /// <summary>
    /// The hub's field violations in the command's words: the SDK sends one item per hash, each with every label and
    /// group, so <c>items[i].sharing_group_ids[j]</c> is the j-th <c>--group</c> (and <c>labels[j]</c> the j-th
    /// <c>--label</c>), named once however many items repeat it.
    /// </summary>
    internal static IEnumerable<string> Explain(IReadOnlyList<HubFieldViolation> violations, Settings settings)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var v in violations)
        {
            var match = ItemField().Match(v.Field);
            var line = match.Success
                ? Describe(match.Groups["field"].Value, int.Parse(match.Groups["index"].Value, System.Globalization.CultureInfo.InvariantCulture), v, settings)
                : v.ToString();
            if (seen.Add(line))
            {
                yield return line;
            }
        }
    }

    private static string Describe(string field, int index, HubFieldViolation v, Settings settings)
    {
        // The field path without the item prefix, as the hub would name it for any item.
        var path = $"{field}[{index}]";
        return field switch
        {
            "sharing_group_ids" when index < settings.Groups.Length => $"--group {settings.Groups[index]}: {v.Description} ({path})",
            "labels" when index < settings.Labels.Length => $"--label {settings.Labels[index]}: {v.Description} ({path})",
            _ => v.ToString(),
        };
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^items\[\d+\]\.(?<field>sharing_group_ids|labels)\[(?<index>\d+)\]$")]
    private static partial System.Text.RegularExpressions.Regex ItemField();
}
