using BenchmarkDotNet.Attributes;
using HashHub.Core.Signals.Exact;

namespace HashHub.Benchmarks.Signals;

/// <summary>MD5 and SHA-256 together in one streamed pass over a 64 MB upload held in memory (no disk in the figure).</summary>
[MemoryDiagnoser]
public class ExactHasherBenchmarks
{
    private byte[] _content = [];

    [GlobalSetup]
    public void Setup()
    {
        _content = new byte[64 * 1024 * 1024];
        new Random(1).NextBytes(_content);
    }

    [Benchmark]
    public ExactHashes Md5AndSha256_64MB() => ExactHasher.Compute(new MemoryStream(_content, writable: false));
}
