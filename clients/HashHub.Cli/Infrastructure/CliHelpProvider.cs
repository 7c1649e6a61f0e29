using System.Globalization;
using Spectre.Console;
using Spectre.Console.Cli;
using Spectre.Console.Cli.Help;
using Spectre.Console.Rendering;

namespace HashHub.Cli.Infrastructure;

/// <summary>Spectre's help, with an EXIT CODES section at the end of every page (scripts branch on them).</summary>
internal sealed class CliHelpProvider(ICommandAppSettings settings) : HelpProvider(settings)
{
    public override IEnumerable<IRenderable> GetFooter(ICommandModel model, ICommandInfo? command)
    {
        foreach (var renderable in base.GetFooter(model, command))
        {
            yield return renderable;
        }
        var codes = new Grid().AddColumn(new GridColumn().PadLeft(4)).AddColumn(new GridColumn().PadLeft(2));
        codes.AddRow(Code(ExitCodes.Success), "success");
        codes.AddRow("1", "match only: something matched");
        codes.AddRow(Code(ExitCodes.InputError),
            "error: a bad command line, an input file that could not be read or is malformed, no such profile, or the hub refused or was unreachable; stderr says why");
        codes.AddRow(Code(ExitCodes.Cancelled), "interrupted (Ctrl+C)");
        yield return Text.NewLine;
        yield return new Markup("[yellow]EXIT CODES:[/]");
        yield return Text.NewLine;
        yield return codes;
    }

    private static string Code(int code) => code.ToString(CultureInfo.InvariantCulture);
}
