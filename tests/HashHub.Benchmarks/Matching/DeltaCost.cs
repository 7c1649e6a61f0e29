using System.Diagnostics;
using HashHub.Core.Matching;

namespace HashHub.Benchmarks.Matching;

/// <summary>
/// <c>delta [--size 1000000] [--rounds 15] [--mid-divisors 8]</c>: what the PDQ index's delta and middle level cost, as an A/B in one
/// process (BenchmarkDotNet runs each case apart, so on a shared machine their load differs more than the cases do).
/// Queries: radius 31 on the same base with the delta and the middle level empty, with the delta one add short of
/// full (base / 64), and with the middle level full (base / 8) and the delta one add short of full, measured in
/// turn round after round. Growth: CPU per add while an index grows from empty by single adds, with compactions
/// on the adding thread, without the middle level (every full delta rebuilds the base) and with it, in turn.
/// <c>--mid-divisors 8,4</c> runs the middle-level cases with each given share of the base (8: up to base / 8, the
/// default), for an A/B of that setting.
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
        var divisors = (args.SkipWhile(a => a != "--mid-divisors").Skip(1).FirstOrDefault() ?? "8")
            .Split(',').Select(d => int.Parse(d, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        // The most the middle level holds with a given share of the base.
        int MidCapacity(int divisor) => Math.Max(65_536, size / divisor);
        var hashes = BenchmarkData.Hashes("random", size + Math.Max(10 * deltaCapacity, MidCapacity(divisors.Min()) + (2 * deltaCapacity)), out var centres);
        var queries = BenchmarkData.Queries(hashes.AsSpan(0, size).ToArray(), centres, QueryCount);
        var ids = Enumerable.Range(0, size).ToArray();
        var cases = new List<(string Name, PdqMultiIndex Index)>();
        // The middle level takes a full delta at a time and holds up to max(65,536, base / divisor): as many full
        // deltas as fit, then one add short of a full delta.
        var queryCases = new List<(string Name, int Fill, int Divisor)> { ("empty", 0, 8), ("full delta", deltaCapacity - 1, 8) };
        foreach (var d in divisors)
        {
            var midFill = MidCapacity(d) / deltaCapacity * deltaCapacity;
            queryCases.Add(($"full middle level (base / {d}) and delta", midFill + deltaCapacity - 1, d));
        }
        foreach (var (name, fill, divisor) in queryCases)
        {
            var index = PdqMultiIndex.Build(ids, hashes.AsSpan(0, size), new PdqMultiIndexOptions { MidDivisor = divisor });
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
        var growth = new[] { ("without the middle level", 0) }.Concat(divisors.Select(d => ($"with the middle level (base / {d})", d))).ToArray();
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
