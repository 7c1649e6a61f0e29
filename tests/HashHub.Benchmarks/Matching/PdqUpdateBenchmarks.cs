using BenchmarkDotNet.Attributes;
using HashHub.Core.Matching;

namespace HashHub.Benchmarks.Matching;

/// <summary>
/// Sustained incremental updates on a 1M index, as the change log drives them: each operation is one add and
/// one remove of an earlier add. The delta fills every ~16K adds, so the figure includes the background
/// compactions (and any wait for them when adds outrun the build).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class PdqUpdateBenchmarks
{
    private const int Batch = 10_000;

    private PdqMultiIndex _mih = null!;
    private Hash256[] _fresh = [];
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var hashes = BenchmarkData.Hashes("random", 1_000_000, out _);
        _mih = PdqMultiIndex.Build(Enumerable.Range(0, hashes.Length).ToArray(), hashes);
        _fresh = BenchmarkData.Hashes("random", 4_000_000, out _);
        _next = 0;
    }

    [Benchmark(OperationsPerInvoke = Batch)]
    public int AddAndRemove()
    {
        for (var k = 0; k < Batch; k++)
        {
            // Wrap around: removed ids are re-added later, so the index stays near 1M entries.
            var i = _next++ % _fresh.Length;
            _mih.Add(1_000_000 + i, _fresh[i]);
            if (i >= 1000)
            {
                _mih.Remove(1_000_000 + i - 1000, _fresh[i - 1000]);
            }
        }
        return _mih.Count;
    }
}
