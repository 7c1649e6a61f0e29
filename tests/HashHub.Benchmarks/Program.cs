using BenchmarkDotNet.Running;

// BenchmarkDotNet benchmarks of the hot paths: `dotnet run -c Release --project tests/HashHub.Benchmarks -- --filter '*'`.
// Each benchmark class lives in the folder of the feature it measures.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
