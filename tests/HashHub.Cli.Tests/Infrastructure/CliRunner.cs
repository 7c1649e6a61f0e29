using HashHub.Cli.Infrastructure;

namespace HashHub.Cli.Tests.Infrastructure;

/// <summary>What one in-process run of the tool printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Out, string Error)
{
    /// <summary>Standard output split into lines, without the final empty one.</summary>
    public string[] OutLines => Out.ReplaceLineEndings("\n").TrimEnd('\n').Split('\n');
}

/// <summary>Runs the real command app (the one Program builds) in-process, with captured standard output and error.</summary>
internal static class CliRunner
{
    public static Task<CliResult> RunAsync(params string[] args) => RunAsync(args, CancellationToken.None);

    public static async Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var exitCode = await Program.Create(new CliOutput(output, error)).RunAsync(args, cancellationToken);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
