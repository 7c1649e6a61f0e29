using BenchmarkDotNet.Attributes;
using HashHub.Core.Matching;

namespace HashHub.Benchmarks.Matching;

/// <summary>
/// Building the multi-index from a bulk list (a node's start-up), and its memory per signal. The setup prints
/// the bytes per signal measured two ways: the managed heap growth (GC.GetTotalMemory) and the index's own
/// array sizes (hash and id included).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 1, iterationCount: 3)]
public class PdqBuildBenchmarks
{
    private Hash256[] _hashes = [];
    private int[] _ids = [];

    [Params(1_000_000, 10_000_000)]
    public int Size { get; set; }

    [Params("random", "clustered")]
    public string Data { get; set; } = "random";

    [GlobalSetup]
    public void Setup()
    {
        _hashes = BenchmarkData.Hashes(Data, Size, out _);
        _ids = Enumerable.Range(0, Size).ToArray();

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var index = PdqMultiIndex.Build(_ids, _hashes);
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(
            $"// {Data} {Size:N0}: heap growth {(after - before) / (double)Size:F1} B/signal, " +
            $"index arrays {index.ApproximateBytes / (double)Size:F1} B/signal, total {(after - before) / 1e6:F0} MB");
        GC.KeepAlive(index);
    }

    [Benchmark]
    public int Build() => PdqMultiIndex.Build(_ids, _hashes).Count;
}
