using BenchmarkDotNet.Attributes;
using HashHub.Core.Matching;

namespace HashHub.Benchmarks.Matching;

/// <summary>
/// Radius-31 PDQ queries: multi-index hashing against the SIMD linear scan (the baseline, so the ratio column is
/// the speed-up), on 1M and 10M hashes, random and clustered. Times are per query.
/// </summary>
/// <remarks>
/// Few iterations on purpose: the 10M cases hold about 1.7 GB and take seconds to set up, and the machine is
/// shared. Run: <c>dotnet run -c Release --project tests/HashHub.Benchmarks -- --filter '*PdqQueryBenchmarks*'</c>.
/// </remarks>
[MemoryDiagnoser]
[SimpleJob(launchCount: 1, warmupCount: 2, iterationCount: 5)]
public class PdqQueryBenchmarks
{
    private const int QueryCount = 64;
    private const int Radius = 31;

    private readonly List<PdqMatch> _results = new(4096);
    private Hash256[] _queries = [];
    private PdqMultiIndex _mih = null!;
    private PdqLinearIndex _linear = null!;

    [Params(1_000_000, 10_000_000)]
    public int Size { get; set; }

    [Params("random", "clustered")]
    public string Data { get; set; } = "random";

    [GlobalSetup(Target = nameof(Mih))]
    public void SetupMih()
    {
        var hashes = BenchmarkData.Hashes(Data, Size, out var centres);
        _queries = BenchmarkData.Queries(hashes, centres, QueryCount);
        _mih = PdqMultiIndex.Build(Enumerable.Range(0, Size).ToArray(), hashes);
        var matches = 0L;
        foreach (var q in _queries)
        {
            _results.Clear();
            _mih.Query(q, Radius, _results);
            matches += _results.Count;
        }
        Console.WriteLine($"// {Data} {Size:N0}: {(double)matches / QueryCount:F1} matches per query at radius {Radius}");
    }

    [GlobalSetup(Target = nameof(LinearScan))]
    public void SetupLinear()
    {
        var hashes = BenchmarkData.Hashes(Data, Size, out var centres);
        _queries = BenchmarkData.Queries(hashes, centres, QueryCount);
        _linear = new PdqLinearIndex();
        for (var i = 0; i < hashes.Length; i++)
        {
            _linear.Add(i, hashes[i]);
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = QueryCount)]
    public int LinearScan() => Run(_linear);

    [Benchmark(OperationsPerInvoke = QueryCount)]
    public int Mih() => Run(_mih);

    private int Run(IPdqMatchIndex index)
    {
        var total = 0;
        foreach (var q in _queries)
        {
            _results.Clear();
            index.Query(q, Radius, _results);
            total += _results.Count;
        }
        return total;
    }
}
