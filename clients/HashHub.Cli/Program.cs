using HashHub.Cli.Commands;
using HashHub.Cli.Infrastructure;
using Spectre.Console.Cli;

await using var output = CliOutput.FromConsole();
using var ctrlC = new CtrlC();
return await Program.Create(output).RunAsync(args, ctrlC.Token);

/// <summary>The hashhub tool: its commands and their examples, in one place (exit codes: <see cref="ExitCodes"/>).</summary>
internal sealed partial class Program
{
    /// <summary>Builds the command app writing to <paramref name="output"/>; tests pass captured writers.</summary>
    internal static CommandApp Create(CliOutput output)
    {
        var app = new CommandApp(new CliTypeRegistrar(output));
        app.Configure(config =>
        {
            config.SetApplicationName("hashhub");
            config.UseAssemblyInformationalVersion();
            config.ConfigureConsole(output.OutConsole);
            config.SetExceptionHandler(output.HandleException);
            config.SetHelpProvider(new CliHelpProvider(config.Settings));
            config.UseStrictParsing();
            config.CancellationExitCode(ExitCodes.Cancelled);
            config.ValidateExamples();

            config.AddCommand<HashCommand>("hash")
                .WithDescription(HashCommand.Description)
                .WithExample("hash", "upload.jpg")
                .WithExample("hash", "--json", "a.jpg", "b.png", "clip.mp4")
                .WithExample("hash", "--cli512", "huge-scan.png");

            config.AddCommand<LookupCommand>("lookup")
                .WithDescription(LookupCommand.Description)
                .WithExample("lookup", "--list", "known.txt", "uploads.txt")
                .WithExample("lookup", "--list", "known.txt", "--radius", "16", "uploads.txt");
        });
        return app;
    }
}
