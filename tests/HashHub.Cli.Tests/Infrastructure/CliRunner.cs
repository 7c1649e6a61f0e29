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

    public static Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken) => RunAsync(args, stdin: "", cancellationToken);

    /// <summary>As <see cref="RunAsync(string[])"/>, with <paramref name="stdin"/> as standard input.</summary>
    public static async Task<CliResult> RunAsync(string[] args, string stdin, CancellationToken cancellationToken = default)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        using var input = new StringReader(stdin);
        var exitCode = await Program.Create(new CliOutput(output, error) { In = input }).RunAsync(args, cancellationToken);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
