using System.Diagnostics;

namespace HashHub.Client.Tests.Infrastructure;

/// <summary>
/// The repository a test build sits in, and running a tool (dotnet pack, dotnet tool install, a built program) to
/// its end. Shared by the SDK's and the CLI's package tests (linked into HashHub.Cli.Tests).
/// </summary>
internal static class RepoProcess
{
    /// <summary>The folder holding HashHub.sln above this test build.</summary>
    public static string Root
    {
        get
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "HashHub.sln")))
                {
                    return dir.FullName;
                }
            }
            throw new DirectoryNotFoundException("HashHub.sln not found above " + AppContext.BaseDirectory);
        }
    }

    /// <summary>The configuration this test was built in (Debug or Release), from its output folder.</summary>
    public static string Configuration =>
        Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar))!);

    /// <summary>Runs a process to its end (at most five minutes); fails the test with its output when it fails.</summary>
    public static async Task<string> RunAsync(string? directory, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = directory ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        var output = await stdout;
        Assert.That(process.ExitCode, Is.Zero, $"{file} {string.Join(' ', args)}\n{output}\n{await stderr}");
        return output;
    }
}
