using System.Text.Json;
using System.Text.Json.Serialization;
using HashHub.Cli.Infrastructure;
using HashHub.Client;

namespace HashHub.Cli.Profiles;

/// <summary>One named connection to a hub: its address, the member's credentials and the local store's path.</summary>
internal sealed record HubProfile(
    [property: JsonPropertyName("hub")] string Hub,
    [property: JsonPropertyName("client_id")] string ClientId,
    [property: JsonPropertyName("client_secret")] string ClientSecret,
    [property: JsonPropertyName("store")] string Store)
{
    /// <summary>The SDK options for this profile; <paramref name="matchOnHub"/> skips the local store.</summary>
    public HubClientOptions ToOptions(bool matchOnHub = false) => new()
    {
        HubAddress = new Uri(Hub),
        ClientId = ClientId,
        ClientSecret = ClientSecret,
        StorePath = matchOnHub ? null : Store,
        MatchOnHub = matchOnHub,
    };
}

/// <summary>
/// The profiles file: <c>$HASHHUB_CONFIG</c>, else <c>~/.config/hashhub/profiles.json</c> (the user's config folder).
/// It holds client secrets, so it is written with mode 600 (owner only) before any secret goes into it.
/// </summary>
internal static class ProfileStore
{
    public const string DefaultProfile = "default";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        TypeInfoResolver = ProfileJsonContext.Default,
    };

    /// <summary>The file used when no --config is given.</summary>
    public static string DefaultPath()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("HASHHUB_CONFIG");
        if (!string.IsNullOrWhiteSpace(fromEnvironment))
        {
            return fromEnvironment;
        }
        var config = Environment.GetFolderPath(Environment.SpecialFolder.ApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return Path.Combine(config, "hashhub", "profiles.json");
    }

    /// <summary>The local store of a profile when login is not told otherwise: next to the profiles file.</summary>
    public static string DefaultStorePath(string configPath, string profile) =>
        Path.Combine(Path.GetDirectoryName(Path.GetFullPath(configPath))!, $"store-{profile}.db");

    /// <summary>Reads one profile; an <see cref="InputException"/> (exit 2) says to log in when it is missing.</summary>
    public static HubProfile Load(string configPath, string name)
    {
        var all = ReadAll(configPath);
        return all.TryGetValue(name, out var profile)
            ? profile
            : throw new InputException($"no profile '{name}' in '{configPath}': run 'hashhub login --hub URL --client-id ID --secret-stdin --profile {name}' first");
    }

    /// <summary>Adds or replaces one profile, keeping the others.</summary>
    public static void Save(string configPath, string name, HubProfile profile)
    {
        var all = File.Exists(configPath) ? ReadAll(configPath) : new Dictionary<string, HubProfile>(StringComparer.Ordinal);
        all[name] = profile;
        var directory = Path.GetDirectoryName(Path.GetFullPath(configPath))!;
        Directory.CreateDirectory(directory);
        // Written to a private temporary file first and renamed: the secret is never readable by others, and a crash
        // mid-write leaves the old file intact.
        var temporary = configPath + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        using (var stream = new FileStream(temporary, options))
        {
            JsonSerializer.Serialize(stream, all, JsonOptions);
        }
        if (!OperatingSystem.IsWindows())
        {
            // UnixCreateMode applies only to a new file; a leftover temporary file keeps its mode otherwise.
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        File.Move(temporary, configPath, overwrite: true);
    }

    private static Dictionary<string, HubProfile> ReadAll(string configPath)
    {
        try
        {
            using var stream = File.OpenRead(configPath);
            var all = JsonSerializer.Deserialize(stream, ProfileJsonContext.Default.DictionaryStringHubProfile);
            return new Dictionary<string, HubProfile>(all ?? [], StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new InputException(
                $"cannot read the profiles file '{configPath}': {InputException.Describe(configPath, e)}" +
                (e is FileNotFoundException or DirectoryNotFoundException ? "; run 'hashhub login' first" : ""), e);
        }
        catch (JsonException e)
        {
            throw new InputException($"the profiles file '{configPath}' is not valid: {e.Message}", e);
        }
    }
}

[JsonSerializable(typeof(Dictionary<string, HubProfile>))]
internal sealed partial class ProfileJsonContext : JsonSerializerContext;
