using System.Globalization;
using HashHub.Core.Matching;

namespace HashHub.Core.Tests.Matching;

/// <summary>Reproduces the reference <c>mih-query -d 31 needles.txt haystack.txt</c> output (TestData/matching).</summary>
public sealed class ReferenceVectorsTests
{
    private static string DataPath(string file) => Path.Combine(TestContext.CurrentContext.TestDirectory, "TestData", "matching", file);

    // A hash file line holds the hash first; other reference files append ",quality,filename" or whitespace
    // separated columns, so only the first field is read. Blank lines keep their line number but hold no hash.
    private static List<(int Line, Hash256 Hash)> ReadHashes(string file) =>
        File.ReadLines(DataPath(file))
            .Select((text, i) => (Line: i + 1, Field: text.Split([',', ' ', '\t'], 2)[0].Trim()))
            .Where(x => x.Field.Length > 0)
            .Select(x => (x.Line, Hash256.Parse(x.Field)))
            .ToList();

    [TestCase("mih")]
    [TestCase("linear")]
    public void Query_NeedlesAgainstHaystackAtRadius31_EqualsReferenceCsv(string implementation)
    {
        var needles = ReadHashes("needles.txt");
        var haystack = ReadHashes("haystack.txt");
        var index = implementation == "mih" ? new PdqMultiIndex() : (IPdqMatchIndex)new PdqLinearIndex();
        foreach (var (line, hash) in haystack)
        {
            index.Add(line, hash);
        }
        var byLine = haystack.ToDictionary(x => x.Line, x => x.Hash);

        var actual = new List<string>();
        foreach (var (line, needle) in needles)
        {
            foreach (var m in index.Query(needle, 31).OrderBy(m => m.Id))
            {
                actual.Add(string.Create(CultureInfo.InvariantCulture, $"{line},{needle},{m.Id},{byLine[m.Id]},{m.Distance}"));
            }
        }

        var expected = File.ReadLines(DataPath("repo-expected-d31.csv")).Skip(1).Where(l => l.Length > 0).ToList();
        Assert.That(expected, Has.Count.EqualTo(250));
        Assert.That(actual, Is.EqualTo(expected));
    }
}
