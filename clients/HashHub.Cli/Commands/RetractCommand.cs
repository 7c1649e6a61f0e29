using System.ComponentModel;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Profiles;
using HashHub.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary><c>hashhub retract</c>: withdraws one of the member's own contributions.</summary>
internal sealed class RetractCommand(CliOutput output) : AsyncCommand<RetractCommand.Settings>
{
    public const string Description =
        "Retract one of your contributions (the id 'hashhub submit' printed). Other members stop matching it once they sync.";

    internal sealed class Settings : HubSettings
    {
        [CommandArgument(0, "<CONTRIBUTION_ID>")]
        [Description("The contribution to retract.")]
        public string ContributionId { get; set; } = "";

        [CommandOption("--reason <REASON>")]
        [Description("Why (recorded in the hub's audit log), for example 'false positive'.")]
        public string? Reason { get; set; }

        public override ValidationResult Validate()
        {
            var baseResult = base.Validate();
            return !baseResult.Successful ? baseResult
                : string.IsNullOrWhiteSpace(ContributionId) ? ValidationResult.Error("CONTRIBUTION_ID is empty.")
                : ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var profile = ProfileStore.Load(settings.ConfigPath, settings.Profile);
        await using var hub = await HashHubClient.OpenAsync(profile.ToOptions(matchOnHub: true), cancellationToken).ConfigureAwait(false);
        await hub.RetractAsync(settings.ContributionId, settings.Reason, cancellationToken).ConfigureAwait(false);
        output.Out.WriteLine($"retracted {settings.ContributionId}");
        return ExitCodes.Success;
    }
}
