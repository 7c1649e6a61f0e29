using BenchmarkDotNet.Running;

namespace HashHub.Benchmarks;

/// <summary>
/// BenchmarkDotNet benchmarks of the hot paths: <c>dotnet run -c Release --project tests/HashHub.Benchmarks -- --filter '*'</c>.
/// Each benchmark class lives in the folder of the feature it measures.
/// </summary>
public static class BenchmarkProgram
{
    public static void Main(string[] args) => BenchmarkSwitcher.FromAssembly(typeof(BenchmarkProgram).Assembly).Run(args);
}
