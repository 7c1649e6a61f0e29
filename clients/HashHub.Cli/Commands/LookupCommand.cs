using System.ComponentModel;
using System.Globalization;
using HashHub.Cli.Infrastructure;
using HashHub.Cli.Input;
using HashHub.Core.Matching;
using HashHub.Core.Signals;
using Spectre.Console;
using Spectre.Console.Cli;

namespace HashHub.Cli.Commands;

/// <summary>
/// <c>hashhub lookup</c>: every (query, list entry) pair of PDQ hashes within a Hamming radius, found through the
/// multi-index hashing index the hub itself uses, as CSV.
/// </summary>
internal sealed class LookupCommand(CliOutput output) : Command<LookupCommand.Settings>
{
    /// <summary>
    /// The largest radius accepted. Unrelated PDQ hashes differ in about 128 bits and the consortium matches at 31;
    /// past 63 a "match" says little, and the index would degrade into a linear scan of every pair.
    /// </summary>
    public const int MaxRadius = 63;

    public const string Header = "query_line,list_line,distance";

    public const string Description =
        "Match PDQ hashes (one per line; extra comma- or space-separated columns ignored) against a hash list; " +
        "print CSV " + Header + " (1-based lines, header first) for every pair within the radius.";

    internal sealed class Settings : CommandSettings
    {
        [CommandOption("-l|--list <LIST>", isRequired: true)]
        [Description("The hash list to match against (for example the hashes synced from the hub), same format as QUERIES.")]
        public string List { get; set; } = "";

        [CommandOption("-r|--radius <BITS>")]
        [Description("The largest Hamming distance (bits, 0-63) that counts as a match.")]
        [DefaultValue(PdqSignalType.DefaultThreshold)]
        public int Radius { get; set; } = PdqSignalType.DefaultThreshold;

        [CommandArgument(0, "<QUERIES>")]
        [Description("The PDQ hashes to look up, one per line (for example the pdq values printed by 'hashhub hash --json').")]
        public string Queries { get; set; } = "";

        public override ValidationResult Validate()
        {
            if (Radius is < 0 or > MaxRadius)
            {
                return ValidationResult.Error(
                    $"--radius must be between 0 and {MaxRadius} bits, got {Radius}: unrelated PDQ hashes differ in about 128 bits, and the default is {PdqSignalType.DefaultThreshold}.");
            }
            return string.IsNullOrWhiteSpace(List) ? ValidationResult.Error("--list needs a file name.") : ValidationResult.Success();
        }
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // Both files are read and checked before anything is printed, so a malformed line never leaves half a CSV.
        var list = PdqHashList.Read(settings.List, cancellationToken);
        var queries = PdqHashList.Read(settings.Queries, cancellationToken);
        var index = list.BuildIndex();

        var o = output.Out;
        o.WriteLine(Header);
        var matches = new List<PdqMatch>();
        for (var q = 0; q < queries.Count; q++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            matches.Clear();
            index.Query(queries.Hashes[q], settings.Radius, matches);
            // The index reports matches in no particular order; ids are list line numbers.
            matches.Sort(static (a, b) => a.Id.CompareTo(b.Id));
            var queryLine = queries.LineNumbers[q].ToString(CultureInfo.InvariantCulture);
            foreach (var match in matches)
            {
                o.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{queryLine},{match.Id},{match.Distance}"));
            }
        }
        return ExitCodes.Success;
    }
}
