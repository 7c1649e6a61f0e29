using BenchmarkDotNet.Running;

namespace HashHub.Benchmarks;

/// <summary>
/// <c>hub ...</c> runs the end-to-end hub figures (see <see cref="Hub.HubBenchmark"/>), <c>latency ...</c> the
/// takedown-to-block latency (<see cref="Hub.LatencyBenchmark"/>), <c>delta ...</c> the PDQ index's delta
/// size A/B (<see cref="Matching.DeltaCost"/>); anything else goes to
/// BenchmarkDotNet: <c>dotnet run -c Release --project tests/HashHub.Benchmarks -- --filter '*'</c>.
/// Each benchmark class lives in the folder of the feature it measures.
/// </summary>
public static class BenchmarkProgram
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "hub")
        {
            return await Hub.HubBenchmark.RunAsync(args[1..]);
        }
        if (args.Length > 0 && args[0] == "ingest-client")
        {
            return await Hub.IngestClient.RunChildAsync(args[1..]);
        }
        if (args.Length > 0 && args[0] == "latency")
        {
            return await Hub.LatencyBenchmark.RunAsync(args[1..]);
        }
        if (args.Length > 0 && args[0] == "delta")
        {
            return Matching.DeltaCost.Run(args[1..]);
        }
        BenchmarkSwitcher.FromAssembly(typeof(BenchmarkProgram).Assembly).Run(args);
        return 0;
    }
}
