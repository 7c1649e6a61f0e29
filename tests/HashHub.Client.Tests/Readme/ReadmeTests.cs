namespace HashHub.Client.Tests.Readme;

public sealed class ReadmeTests
{
    [Test]
    public void Readme_CSharpSnippet_IsTheCompiledExample()
    {
        var root = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", ".."));
        var readme = File.ReadAllLines(Path.Combine(root, "clients", "HashHub.Client", "README.md"));
        var example = File.ReadAllLines(Path.Combine(root, "tests", "HashHub.Client.Tests", "Readme", "ReadmeExample.cs"));

        var start = Array.FindIndex(readme, l => l.Trim() == "```csharp");
        var end = Array.FindIndex(readme, start + 1, l => l.Trim() == "```");
        var snippet = readme[(start + 1)..end].Select(l => l.Trim()).Where(l => l.Length > 0 && !IsUsingDirective(l)).ToList();
        var begin = Array.FindIndex(example, l => l.Contains("README:begin", StringComparison.Ordinal));
        var stop = Array.FindIndex(example, l => l.Contains("README:end", StringComparison.Ordinal));
        var compiled = example[(begin + 1)..stop].Select(l => l.Trim()).Where(l => l.Length > 0).ToList();

        Assert.That(start, Is.GreaterThanOrEqualTo(0), "the README has a C# snippet");
        Assert.That(snippet, Is.EqualTo(compiled));
    }

    // The README's namespace imports live at the top of the compiled file instead; "using var" statements stay.
    private static bool IsUsingDirective(string line) =>
        line.StartsWith("using ", StringComparison.Ordinal) && !line.Contains('=', StringComparison.Ordinal);
}
