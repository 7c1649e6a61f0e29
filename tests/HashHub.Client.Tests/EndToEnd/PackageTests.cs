using HashHub.Client.Tests.Infrastructure;
using HashHub.Core.Signals.Pdq;

namespace HashHub.Client.Tests.EndToEnd;

/// <summary>
/// The SDK as a member gets it: packed as NuGet packages (HashHub.Client and the HashHub.Core it depends on), then
/// referenced by a new project outside the repository (none of the repository's build files apply) that restores
/// from those packages, builds and runs.
/// </summary>
public sealed class PackageTests
{
    [Test]
    public async Task Packages_ReferencedByANewProject_RestoreBuildAndHash()
    {
        var work = Path.Combine(Path.GetTempPath(), "hashhub-package-test-" + Guid.NewGuid().ToString("N")[..8]);
        try
        {
            var feed = Path.Combine(work, "feed");
            var consumer = Path.Combine(work, "consumer");
            Directory.CreateDirectory(feed);
            Directory.CreateDirectory(consumer);
            // The build this test runs with, packed as is: packing with another version would rebuild the projects
            // in place while other test assemblies may be packing them too.
            var configuration = RepoProcess.Configuration;
            foreach (var project in new[] { "src/HashHub.Core/HashHub.Core.csproj", "clients/HashHub.Client/HashHub.Client.csproj" })
            {
                await RepoProcess.RunAsync(null, "dotnet", "pack", Path.Combine(RepoProcess.Root, project), "-c", configuration, "-o", feed, "--nologo");
            }
            var packages = Directory.GetFiles(feed, "*.nupkg").Select(Path.GetFileName).ToList();
            Assert.That(packages, Has.Count.EqualTo(2).And.Some.StartsWith("HashHub.Core.").And.Some.StartsWith("HashHub.Client."));
            var version = packages.Single(p => p!.StartsWith("HashHub.Client.", StringComparison.Ordinal))!["HashHub.Client.".Length..^".nupkg".Length];

            await File.WriteAllTextAsync(Path.Combine(consumer, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="hashhub" value="{feed}" />
                    <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
                  </packageSources>
                </configuration>
                """);
            await File.WriteAllTextAsync(Path.Combine(consumer, "Consumer.csproj"), $"""
                <Project Sdk="Microsoft.NET.Sdk">
                  <PropertyGroup>
                    <OutputType>Exe</OutputType>
                    <TargetFramework>net10.0</TargetFramework>
                    <Nullable>enable</Nullable>
                    <ImplicitUsings>enable</ImplicitUsings>
                    <!-- Packages restored for this test go to its own folder; third-party ones come from the machine's cache. -->
                    <RestorePackagesPath>{Path.Combine(work, "packages")}</RestorePackagesPath>
                    <RestoreAdditionalProjectFallbackFolders>{GlobalPackagesFolder}</RestoreAdditionalProjectFallbackFolders>
                  </PropertyGroup>
                  <ItemGroup>
                    <PackageReference Include="HashHub.Client" Version="{version}" />
                  </ItemGroup>
                </Project>
                """);
            await File.WriteAllTextAsync(Path.Combine(consumer, "Program.cs"), """
                using HashHub.Client;
                using HashHub.Core.Signals.Pdq;

                var pdq = PdqHasher.HashFile(args[0]);
                Console.WriteLine($"{typeof(HashHubClient).Assembly.GetName().Name} {pdq.Hash.ToHex()} {pdq.Quality}");
                """);

            var output = await RepoProcess.RunAsync(consumer, "dotnet", "run", "--project", consumer, "--", TestImages.Photo);

            // Our two packages were taken from the feed into this test's own folder, not found already extracted in
            // the machine's cache (which would be an older build).
            foreach (var id in new[] { "hashhub.client", "hashhub.core" })
            {
                Assert.That(Directory.Exists(Path.Combine(work, "packages", id, version)), $"{id} {version} restored from the test's feed");
            }
            var expected = PdqHasher.HashFile(TestImages.Photo);
            Assert.That(output.Trim().Split('\n')[^1].Trim(), Is.EqualTo($"HashHub.Client {expected.Hash.ToHex()} {expected.Quality}"));
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private static string GlobalPackagesFolder =>
        Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } configured
            ? configured
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
}
