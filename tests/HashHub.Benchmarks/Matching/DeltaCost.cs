using System.Diagnostics;
using HashHub.Core.Matching;

namespace HashHub.Benchmarks.Matching;

/// <summary>
/// <c>delta [--size 1000000] [--rounds 15]</c>: what the PDQ index's delta size costs, as an A/B in one process
/// (BenchmarkDotNet runs each case apart, so on a shared machine their load differs more than the cases do).
/// Queries: radius 31 on the same base with the delta empty, or one add short of full at base / 64 and at
/// base / 16, measured in turn round after round. Growth: CPU per add while an index grows from empty by single
/// adds, with compactions on the adding thread, for each divisor in turn. Prints the median and the minimum of
/// the process's CPU time (so that time the machine gives to other processes is not counted).
/// </summary>
internal static class DeltaCost
{
    private const int Radius = 31;
    private const int QueryCount = 512;

    public static int Run(string[] args)
    {
        var size = Option(args, "--size", 1_000_000);
        var rounds = Option(args, "--rounds", 15);
        var hashes = BenchmarkData.Hashes("random", size + (size / 16), out var centres);
        var queries = BenchmarkData.Queries(hashes.AsSpan(0, size).ToArray(), centres, QueryCount);
        var ids = Enumerable.Range(0, size).ToArray();
        var cases = new List<(string Name, PdqMultiIndex Index)>();
        foreach (var (name, divisor, fill) in new[] { ("empty delta", 64, 0), ("full delta, base/64", 64, Math.Max(16_384, size / 64) - 1), ("full delta, base/16", 16, Math.Max(16_384, size / 16) - 1) })
        {
            var index = PdqMultiIndex.Build(ids, hashes.AsSpan(0, size), new PdqMultiIndexOptions { DeltaDivisor = divisor });
            for (var i = size; i < size + fill; i++)
            {
                index.Add(i, hashes[i]);
            }
            cases.Add(($"query, {name} ({index.DeltaCount:N0})", index));
        }
        var results = new List<PdqMatch>(4096);
        var times = cases.ToDictionary(c => c.Name, _ => new List<double>());
        for (var round = 0; round < rounds; round++)
        {
            foreach (var (name, index) in cases)
            {
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                foreach (var q in queries)
                {
                    results.Clear();
                    index.Query(q, Radius, results);
                }
                times[name].Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / QueryCount);
            }
        }
        cases.Clear();
        GC.Collect();

        var growRounds = Math.Max(1, rounds / 5);
        foreach (var divisor in new[] { 64, 16 })
        {
            times[$"grow to {size:N0}, base/{divisor}, per add"] = [];
        }
        for (var round = 0; round < growRounds; round++)
        {
            foreach (var divisor in new[] { 64, 16 })
            {
                var index = new PdqMultiIndex(new PdqMultiIndexOptions { DeltaDivisor = divisor, BackgroundCompaction = false });
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                for (var i = 0; i < size; i++)
                {
                    index.Add(i, hashes[i]);
                }
                times[$"grow to {size:N0}, base/{divisor}, per add"].Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / size);
            }
        }
        foreach (var (name, list) in times)
        {
            list.Sort();
            Console.WriteLine($"{name,-48} median {list[list.Count / 2],8:F2} us  min {list[0],8:F2} us  ({list.Count} runs, CPU time)");
        }
        return 0;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }
}
