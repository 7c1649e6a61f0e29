using System.ComponentModel;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Profiles;
using HashHub.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary><c>hashhub login</c>: checks a member credential against the hub, then saves it in a profile.</summary>
internal sealed class LoginCommand(CliOutput output) : AsyncCommand<LoginCommand.Settings>
{
    public const string Description =
        "Check a member credential by getting a token from the hub, then save the hub address, the credential and the " +
        "local store's path in a profile (file mode 600). Prefer --secret-stdin: a secret on the command line is visible to other users.";

    internal sealed class Settings : HubSettings
    {
        [CommandOption("--hub <URL>", isRequired: true)]
        [Description("The hub's gRPC address, for example https://hub.example.org.")]
        public string Hub { get; set; } = "";

        [CommandOption("--client-id <ID>", isRequired: true)]
        [Description("The credential's client id, as the hub printed it.")]
        public string ClientId { get; set; } = "";

        [CommandOption("--client-secret <SECRET>")]
        [Description("The credential's secret (visible in the process list: prefer --secret-stdin).")]
        public string? ClientSecret { get; set; }

        [CommandOption("--secret-stdin")]
        [Description("Read the secret from the first line of standard input.")]
        public bool SecretStdin { get; set; }

        [CommandOption("--store <FILE>")]
        [Description("The local store (SQLite) for sync and local matching. Default: store-PROFILE.db next to the profiles file.")]
        public string? Store { get; set; }

        public override ValidationResult Validate()
        {
            var baseResult = base.Validate();
            if (!baseResult.Successful)
            {
                return baseResult;
            }
            if (!Uri.TryCreate(Hub, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                return ValidationResult.Error($"--hub must be an absolute http or https URL, got '{Hub}'.");
            }
            if (string.IsNullOrWhiteSpace(ClientId))
            {
                return ValidationResult.Error("--client-id needs a value.");
            }
            return (ClientSecret is not null, SecretStdin) switch
            {
                (true, true) => ValidationResult.Error("give either --client-secret or --secret-stdin, not both."),
                (false, false) => ValidationResult.Error("give the secret with --secret-stdin (or --client-secret)."),
                _ => ValidationResult.Success(),
            };
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var secret = settings.SecretStdin
            ? (await output.In.ReadLineAsync(cancellationToken).ConfigureAwait(false))?.Trim()
            : settings.ClientSecret;
        if (string.IsNullOrEmpty(secret))
        {
            output.WriteError("no secret given: standard input was empty.");
            return ExitCodes.Usage;
        }
        var config = settings.ConfigPath;
        var profile = new HubProfile(
            settings.Hub, settings.ClientId, secret,
            Path.GetFullPath(settings.Store ?? ProfileStore.DefaultStorePath(config, settings.Profile)));
        // No store is opened: login only proves the credential; the first sync creates the store.
        await using (var hub = await HashHubClient.OpenAsync(profile.ToOptions(matchOnHub: true), cancellationToken).ConfigureAwait(false))
        {
            await hub.VerifyCredentialsAsync(cancellationToken).ConfigureAwait(false);
        }
        ProfileStore.Save(config, settings.Profile, profile);
        output.Out.WriteLine($"logged in to {profile.Hub} as {profile.ClientId}; profile '{settings.Profile}' saved in {config}");
        output.Out.WriteLine($"local store: {profile.Store}");
        return ExitCodes.Success;
    }
}
