using System.ComponentModel;
using Spectre.Console;
using Spectre.Console.Cli;

namespace HashHub.Cli.Profiles;

/// <summary>The options every command that talks to a hub shares: which profile, in which profiles file.</summary>
internal class HubSettings : CommandSettings
{
    [CommandOption("-p|--profile <NAME>")]
    [Description("The profile to use (see 'hashhub login').")]
    [DefaultValue(ProfileStore.DefaultProfile)]
    public string Profile { get; set; } = ProfileStore.DefaultProfile;

    [CommandOption("--config <FILE>")]
    [Description("The profiles file. Default: $HASHHUB_CONFIG, else ~/.config/hashhub/profiles.json.")]
    public string? Config { get; set; }

    public string ConfigPath => string.IsNullOrWhiteSpace(Config) ? ProfileStore.DefaultPath() : Config;

    public override ValidationResult Validate() =>
        string.IsNullOrWhiteSpace(Profile) || Profile.IndexOfAny(['/', '\\']) >= 0
            ? ValidationResult.Error("--profile needs a name without slashes.")
            : ValidationResult.Success();
}
