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

            config.AddCommand<LoginCommand>("login")
                .WithDescription(LoginCommand.Description)
                .WithExample("login", "--hub", "https://hub.example.org", "--client-id", "hh_abc123", "--secret-stdin")
                .WithExample("login", "--hub", "http://127.0.0.1:5000", "--client-id", "hh_abc123", "--secret-stdin", "--profile", "staging");

            config.AddCommand<MatchCommand>("match")
                .WithDescription(MatchCommand.Description)
                .WithExample("match", "upload.jpg")
                .WithExample("match", "--json", "a.jpg", "b.png")
                .WithExample("match", "--hub-side", "--profile", "staging", "upload.jpg");

            config.AddCommand<SyncCommand>("sync")
                .WithDescription(SyncCommand.Description)
                .WithExample("sync")
                .WithExample("sync", "--profile", "staging");

            config.AddCommand<SubmitCommand>("submit")
                .WithDescription(SubmitCommand.Description)
                .WithExample("submit", "takedown.jpg", "--label", "behavior:glorification")
                .WithExample("submit", "a.jpg", "b.mp4", "--label", "behavior:glorification", "--label", "content_type:image",
                    "--source", "user_report", "--case-ref", "T-2026-0042")
                .WithExample("submit", "attack-still.jpg", "--label", "behavior:glorification", "--group", "grp_0123456789abcdef");

            config.AddCommand<RetractCommand>("retract")
                .WithDescription(RetractCommand.Description)
                .WithExample("retract", "01JD7Q3M5V8X2K", "--reason", "false positive");

            config.AddCommand<StatusCommand>("status")
                .WithDescription(StatusCommand.Description)
                .WithExample("status")
                .WithExample("status", "--json", "--profile", "staging")
                .WithExample("status", "--offline");

            config.AddCommand<WatchCommand>("watch")
                .WithDescription(WatchCommand.Description)
                .WithExample("watch");
        });
        return app;
    }
}
