using System.IO.Compression;
using System.Text.Json;
using HashHub.Cli.Tests.Infrastructure;
using HashHub.Client.Tests.Infrastructure;

namespace HashHub.Cli.Tests.EndToEnd;

/// <summary>
/// The CLI as a member installs it: <c>dotnet pack</c>, then <c>dotnet tool install</c> from that package only
/// (a nuget.config with no other source, so nothing else can be picked up), then the <c>hashhub</c> command.
/// </summary>
public sealed class ToolPackageTests
{
    private const string Image = "images/pdq-data/misc-images/small.jpg";

    [Test]
    public async Task Pack_InstalledAsDotnetTool_RunsAsHashhub()
    {
        var work = Path.Combine(TestFiles.ScratchRoot, "tool-" + Guid.NewGuid().ToString("N")[..8]);
        var packages = Path.Combine(work, "packages");
        var tools = Path.Combine(work, "tools");
        Directory.CreateDirectory(packages);
        var config = Path.Combine(work, "nuget.config");
        await File.WriteAllTextAsync(config, $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{packages}" />
              </packageSources>
            </configuration>
            """);

        // The configuration this test was built in, so that pack finds the build up to date.
        var configuration = RepoProcess.Configuration;
        await RepoProcess.RunAsync(null, "dotnet", "pack", Path.Combine(RepoProcess.Root, "clients", "HashHub.Cli", "HashHub.Cli.csproj"), "-c", configuration, "-o", packages, "--nologo");

        var package = Directory.GetFiles(packages, "HashHub.Cli.*.nupkg").Single();
        using (var zip = ZipFile.OpenRead(package))
        {
            var names = zip.Entries.Select(e => e.FullName).ToList();
            Assert.That(names, Does.Contain("README.md"));
            Assert.That(names.Where(n => n.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal)), Has.Exactly(1).Items);
            Assert.That(names, Has.Some.Contains("runtimes/linux-x64/native/"), "the image decoder's native library");
            Assert.That(names.Where(n => n.Contains("/runtimes/", StringComparison.Ordinal) && n.EndsWith(".pdb", StringComparison.Ordinal)), Is.Empty,
                "native debug symbols are left out of the tool package");
            await using var settings = zip.Entries.Single(e => e.FullName.EndsWith("DotnetToolSettings.xml", StringComparison.Ordinal)).Open();
            using var reader = new StreamReader(settings);
            Assert.That(await reader.ReadToEndAsync(), Does.Contain("Name=\"hashhub\""));
        }

        await RepoProcess.RunAsync(null, "dotnet", "tool", "install", "HashHub.Cli", "--tool-path", tools, "--configfile", config);
        var installed = Path.Combine(tools, OperatingSystem.IsWindows() ? "hashhub.exe" : "hashhub");
        Assert.That(File.Exists(installed), installed);

        var image = TestFiles.VectorPath(Image);
        var output = await RepoProcess.RunAsync(null, installed, "hash", "--json", image);
        using var json = JsonDocument.Parse(output.Trim());
        Assert.That(json.RootElement.GetProperty("pdq").GetString(), Is.EqualTo(TestFiles.Manifest(Image).PdqFullRes));
    }
}
