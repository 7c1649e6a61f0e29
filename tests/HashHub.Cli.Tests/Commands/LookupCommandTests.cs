using HashHub.Cli.Tests.Infrastructure;

namespace HashHub.Cli.Tests.Commands;

public sealed class LookupCommandTests
{
    private const string HashA = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22";
    private const string HashB = "30a10efd71cc3d429013d48d0ffffc52e34e0e17ada952a9d29685211ea9e5af";

    private static string Needles => TestFiles.DataPath("matching/needles.txt");

    private static string Haystack => TestFiles.DataPath("matching/haystack.txt");

    [Test]
    public async Task Lookup_NeedlesHaystackRadius31_ReproducesReferenceMihQuery()
    {
        // repo-expected-d31.csv is the reference `mih-query -d 31` output with the hashes as extra columns:
        // needle_line,needle_hash,haystack_line,haystack_hash,distance.
        var expected = File.ReadAllLines(TestFiles.DataPath("matching/repo-expected-d31.csv"))
            .Skip(1)
            .Select(l => l.Split(','))
            .Select(f => $"{f[0]},{f[2]},{f[4]}");

        var result = await CliRunner.RunAsync("lookup", "--list", Haystack, "--radius", "31", Needles);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.OutLines[0], Is.EqualTo("query_line,list_line,distance"));
        Assert.That(result.OutLines.Skip(1), Is.EqualTo(expected));
    }

    [Test]
    public async Task Lookup_DefaultRadius_Is31()
    {
        var explicit31 = await CliRunner.RunAsync("lookup", "--list", Haystack, "--radius", "31", Needles);

        var byDefault = await CliRunner.RunAsync("lookup", "-l", Haystack, Needles);

        Assert.That(byDefault.Out, Is.EqualTo(explicit31.Out));
    }

    [TestCase("64")]
    [TestCase("-1")]
    [TestCase("256")]
    public async Task Lookup_RadiusOutOfRange_ExitCode2AndSaysRange(string radius)
    {
        var result = await CliRunner.RunAsync("lookup", "--list", Haystack, "--radius", radius, Needles);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("--radius").And.Contain("between 0 and 63"));
        Assert.That(result.Out, Is.Empty);
    }

    [Test]
    public async Task Lookup_Radius63_AgreesWithBruteForce()
    {
        var list = File.ReadAllLines(Haystack);
        var queries = File.ReadAllLines(Needles).Take(5).ToArray();
        var queryFile = TestFiles.WriteTemp("queries.txt", string.Join('\n', queries));
        var expected = new List<string>();
        for (var q = 0; q < queries.Length; q++)
        {
            for (var l = 0; l < list.Length; l++)
            {
                var distance = Distance(queries[q], list[l]);
                if (distance <= 63)
                {
                    expected.Add($"{q + 1},{l + 1},{distance}");
                }
            }
        }

        var result = await CliRunner.RunAsync("lookup", "--list", Haystack, "--radius", "63", queryFile);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.OutLines.Skip(1), Is.EqualTo(expected));
    }

    [Test]
    public async Task Lookup_BlankLinesAndExtraColumns_ToleratedAndLinesCounted()
    {
        var list = TestFiles.WriteTemp("list.txt", $"\n{HashA},100,a.jpg\n\n{HashB} 100 b.jpg\r\n  {HashA.ToUpperInvariant()}\t90\n");
        var queries = TestFiles.WriteTemp("queries.txt", $"{HashB}\n\n\n{HashA}\n");

        var result = await CliRunner.RunAsync("lookup", "--list", list, "--radius", "0", queries);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.OutLines, Is.EqualTo(new[] { "query_line,list_line,distance", "1,4,0", "4,2,0", "4,5,0" }));
    }

    [Test]
    public async Task Lookup_NoMatches_PrintsOnlyHeader()
    {
        var list = TestFiles.WriteTemp("list.txt", HashA + "\n");
        var queries = TestFiles.WriteTemp("queries.txt", HashB + "\n");

        var result = await CliRunner.RunAsync("lookup", "--list", list, queries);

        Assert.That(result.ExitCode, Is.Zero, result.Error);
        Assert.That(result.OutLines, Is.EqualTo(new[] { "query_line,list_line,distance" }));
    }

    [TestCase("abc", "3 characters")]
    [TestCase(HashA + "0", "65 characters")]
    [TestCase("z" + "8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22", "'z' at position 1")]
    public async Task Lookup_MalformedQueryLine_ExitCode2NamesFileLineAndReason(string bad, string reason)
    {
        var queries = TestFiles.WriteTemp("queries.txt", $"{HashA}\n\n{bad},100,x.jpg\n{HashB}\n");

        var result = await CliRunner.RunAsync("lookup", "--list", Haystack, queries);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain($"{queries}:3:").And.Contain(reason));
        Assert.That(result.Out, Is.Empty, "nothing is printed when an input is malformed");
    }

    [Test]
    public async Task Lookup_MalformedListLine_ExitCode2NamesListFile()
    {
        var list = TestFiles.WriteTemp("list.txt", $"{HashA}\nhash,quality,filename\n");

        var result = await CliRunner.RunAsync("lookup", "--list", list, Needles);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain($"{list}:2: not a PDQ hash: 'hash'"));
    }

    [Test]
    public async Task Lookup_MissingListFile_ExitCode2NamesFile()
    {
        var missing = Path.Combine(TestFiles.ScratchRoot, "no-list.txt");

        var result = await CliRunner.RunAsync("lookup", "--list", missing, Needles);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain(missing).And.Contain("no such file"));
    }

    [Test]
    public async Task Lookup_WithoutList_ExitCode2()
    {
        var result = await CliRunner.RunAsync("lookup", Needles);

        Assert.That(result.ExitCode, Is.EqualTo(2));
        Assert.That(result.Error, Does.Contain("list"));
    }

    [Test]
    public async Task Lookup_Help_ShowsExampleAndExitCodes()
    {
        var result = await CliRunner.RunAsync("lookup", "--help");

        Assert.That(result.ExitCode, Is.Zero);
        Assert.That(result.Out, Does.Contain("hashhub lookup --list known.txt").And.Contain("EXIT CODES:"));
    }

    private static int Distance(string a, string b)
    {
        var x = Convert.FromHexString(a);
        var y = Convert.FromHexString(b);
        return x.Zip(y).Sum(p => System.Numerics.BitOperations.PopCount((uint)(p.First ^ p.Second)));
    }
}
