using System.ComponentModel;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using HashHub.Cli.Infrastructure;
using HashHub.Core.Signals;
using HashHub.Core.Signals.Exact;
using HashHub.Core.Signals.Imaging;
using HashHub.Core.Signals.Pdq;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary>
/// <c>hashhub hash</c>: the signals of local files, computed here (the hub never receives content): PDQ and its
/// quality for images, MD5 and SHA-256 of the bytes for every file.
/// </summary>
internal sealed class HashCommand(CliOutput output) : AsyncCommand<HashCommand.Settings>
{
    public const string Description =
        "Hash files locally: PDQ and quality for images; MD5 and SHA-256 for every file. A file that is not an " +
        "image gets no PDQ; one that cannot be read is reported and the others are still hashed (exit 2).";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        // File names are printed as given; this is not HTML, so only what JSON itself requires is escaped.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        TypeInfoResolver = HashJsonContext.Default,
    };

    internal sealed class Settings : CommandSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("Files to hash (any type; images get a PDQ hash).")]
        public string[] Files { get; set; } = [];

        [CommandOption("--json")]
        [Description("One JSON object per line: file, pdq, quality, md5, sha256 (lower-case hex; pdq and quality null when the file is not an image).")]
        public bool Json { get; set; }

        [CommandOption("--cli512")]
        [Description("Squash images over 512 px to 512x512 first, as the reference pdq-photo-hasher tool does: faster on very large images, but the hash can differ by a few bits from the full-resolution one.")]
        public bool Cli512 { get; set; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var resolution = settings.Cli512 ? PdqResolution.ReferenceCli512 : PdqResolution.Full;
        var exitCode = ExitCodes.Success;
        foreach (var file in settings.Files)
        {
            cancellationToken.ThrowIfCancellationRequested();
            FileSignals signals;
            try
            {
                signals = await HashFileAsync(file, resolution, cancellationToken).ConfigureAwait(false);
            }
            catch (InputException e)
            {
                output.WriteError(e.Message);
                exitCode = ExitCodes.InputError;
                continue;
            }
            if (settings.Json)
            {
                WriteJson(signals);
            }
            else
            {
                WriteText(signals);
            }
        }
        return exitCode;
    }

    private static async Task<FileSignals> HashFileAsync(string file, PdqResolution resolution, CancellationToken cancellationToken)
    {
        try
        {
            // The exact digests first: they read every byte, so a missing or unreadable file fails here.
            var exact = await ExactHasher.ComputeFileAsync(file, cancellationToken).ConfigureAwait(false);
            PdqResult? pdq;
            try
            {
                pdq = PdqHasher.HashFile(file, resolution);
            }
            catch (ImageDecodeException)
            {
                pdq = null; // not an image (or not one we can decode): it still has exact hashes
            }
            return new FileSignals(file, pdq, exact);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw InputException.CannotRead(file, e);
        }
    }

    private void WriteJson(FileSignals signals)
    {
        var record = new HashRecord(
            signals.File, signals.Pdq?.Hash.ToHex(), signals.Pdq?.Quality, signals.Exact.Md5, signals.Exact.Sha256);
        output.Out.WriteLine(JsonSerializer.Serialize(record, JsonOptions));
    }

    private void WriteText(FileSignals signals)
    {
        var o = output.Out;
        o.WriteLine(signals.File);
        if (signals.Pdq is { } pdq)
        {
            var note = pdq.Quality < PdqSignalType.DefaultMinQuality
                ? $" (below {PdqSignalType.DefaultMinQuality}: too flat to share or match reliably)"
                : "";
            o.WriteLine($"  pdq     {pdq.Hash.ToHex()}");
            o.WriteLine($"  quality {pdq.Quality}{note}");
        }
        else
        {
            o.WriteLine("  pdq     - (not a decodable image)");
        }
        o.WriteLine($"  md5     {signals.Exact.Md5}");
        o.WriteLine($"  sha256  {signals.Exact.Sha256}");
    }

    private sealed record FileSignals(string File, PdqResult? Pdq, ExactHashes Exact);
}

/// <summary>One line of <c>hashhub hash --json</c>; the property order is the output's field order.</summary>
internal sealed record HashRecord(
    [property: JsonPropertyName("file")] string File,
    [property: JsonPropertyName("pdq")] string? Pdq,
    [property: JsonPropertyName("quality")] int? Quality,
    [property: JsonPropertyName("md5")] string Md5,
    [property: JsonPropertyName("sha256")] string Sha256);

[JsonSerializable(typeof(HashRecord))]
internal sealed partial class HashJsonContext : JsonSerializerContext;
