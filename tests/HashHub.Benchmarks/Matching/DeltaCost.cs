using System.Diagnostics;
using HashHub.Core.Matching;

namespace HashHub.Benchmarks.Matching;

/// <summary>
/// <c>delta [--size 1000000] [--rounds 15]</c>: what the PDQ index's delta and middle level cost, as an A/B in one
/// process (BenchmarkDotNet runs each case apart, so on a shared machine their load differs more than the cases do).
/// Queries: radius 31 on the same base with the delta and the middle level empty, with the delta one add short of
/// full (base / 64), and with the middle level full (base / 8) and the delta one add short of full, measured in
/// turn round after round. Growth: CPU per add while an index grows from empty by single adds, with compactions
/// on the adding thread, without the middle level (every full delta rebuilds the base) and with it, in turn.
/// Prints the median and the minimum of the process's CPU time (so that time the machine gives to other
/// processes is not counted).
/// </summary>
internal static class DeltaCost
{
    private const int Radius = 31;
    private const int QueryCount = 512;

    public static int Run(string[] args)
    {
        var size = Option(args, "--size", 1_000_000);
        var rounds = Option(args, "--rounds", 15);
        var deltaCapacity = Math.Max(16_384, size / 64);
        var hashes = BenchmarkData.Hashes("random", size + (10 * deltaCapacity), out var centres);
        var queries = BenchmarkData.Queries(hashes.AsSpan(0, size).ToArray(), centres, QueryCount);
        var ids = Enumerable.Range(0, size).ToArray();
        var cases = new List<(string Name, PdqMultiIndex Index)>();
        // The middle level takes a full delta at a time and holds up to max(65,536, base / 8): as many full deltas
        // as fit, then one add short of a full delta.
        var midFill = Math.Max(65_536, size / 8) / deltaCapacity * deltaCapacity;
        foreach (var (name, fill) in new[] { ("empty", 0), ("full delta", deltaCapacity - 1), ("full middle level and delta", midFill + deltaCapacity - 1) })
        {
            var index = PdqMultiIndex.Build(ids, hashes.AsSpan(0, size));
            for (var i = size; i < size + fill; i++)
            {
                index.Add(i, hashes[i]);
            }
            index.CompactionTask?.Wait();
            cases.Add(($"query, {name} ({index.MidCount:N0} + {index.DeltaCount:N0})", index));
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
        var growth = new[] { ("without the middle level", 0), ("with the middle level", 8) };
        foreach (var (name, _) in growth)
        {
            times[$"grow to {size:N0} {name}, per add"] = [];
        }
        for (var round = 0; round < growRounds; round++)
        {
            foreach (var (name, midDivisor) in growth)
            {
                var index = new PdqMultiIndex(new PdqMultiIndexOptions { MidDivisor = midDivisor, BackgroundCompaction = false });
                var cpu = Process.GetCurrentProcess().TotalProcessorTime;
                for (var i = 0; i < size; i++)
                {
                    index.Add(i, hashes[i]);
                }
                times[$"grow to {size:N0} {name}, per add"].Add((Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMicroseconds / size);
            }
        }
        foreach (var (name, list) in times)
        {
            list.Sort();
            Console.WriteLine($"{name,-56} median {list[list.Count / 2],8:F2} us  min {list[0],8:F2} us  ({list.Count} runs, CPU time)");
        }
        return 0;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    }
}
