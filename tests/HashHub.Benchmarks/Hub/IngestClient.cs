using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using HashHub.Server.Membership;
using Proto = HashHub.Protos.V1;

namespace HashHub.Benchmarks.Hub;

/// <summary>
/// Sends the ingest benchmark's contributions to the hub. In this process (the default), the client's CPU is
/// counted with the hub's, as the benchmark always has; in a child process (<c>--client-process</c>), it is
/// measured on its own, so that the figures also give the hub's own capacity: what the hub and PostgreSQL cost
/// per signal, the part a hub operator pays when members' clients run on their own machines.
/// </summary>
internal abstract class IngestClient : IAsyncDisposable
{

    /// <summary>Ingests signals <paramref name="offset"/> to offset + count; returns the CPU seconds the client spent outside this process.</summary>
    public abstract Task<double> IngestAsync(int offset, int count, int writers);

    public abstract ValueTask DisposeAsync();

    /// <summary>A channel to the hub that sends a bearer token, fetched again when it is a minute old.</summary>
    internal static GrpcChannel Channel(int grpcPort, int httpPort, IssuedCredential credential, string token)
    {
        var tokenAt = Stopwatch.StartNew();
        var tokenGate = new SemaphoreSlim(1, 1);
        var credentials = CallCredentials.FromInterceptor(async (_, metadata) =>
        {
            // Access tokens are short-lived and a run on a busy machine can outlast one: a token is fetched again
            // when it is a minute old (outside any measure's hot loop: at most one fetch a minute).
            if (tokenAt.Elapsed > TimeSpan.FromMinutes(1))
            {
                await tokenGate.WaitAsync();
                try
                {
                    if (tokenAt.Elapsed > TimeSpan.FromMinutes(1))
                    {
                        token = await HubBenchmark.GetTokenAsync(httpPort, credential);
                        tokenAt.Restart();
                    }
                }
                finally
                {
                    tokenGate.Release();
                }
            }
            metadata.Add("authorization", "Bearer " + token);
        });
        // A page of changes is megabytes; with a receive window that starts at HTTP/2's 64 KB the hub would stop
        // for window updates many times per page until the window has grown.
        return GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}", new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 256 * 1024 * 1024,
            Credentials = ChannelCredentials.Create(ChannelCredentials.Insecure, credentials),
            UnsafeUseInsecureChannelCallCredentials = true,
            HttpHandler = new SocketsHttpHandler { InitialHttp2StreamWindowSize = 16 * 1024 * 1024 },
        });
    }

    /// <summary>Sends batches of <see cref="HubBenchmark.BatchSize"/> from <paramref name="writers"/> concurrent callers.</summary>
    internal static async Task SendAsync(Proto.Contributions.ContributionsClient client, int offset, int count, int writers)
    {
        var batches = count / HubBenchmark.BatchSize;
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            int b;
            while ((b = Interlocked.Increment(ref next)) < batches)
            {
                var request = new Proto.SubmitContributionsRequest { IdempotencyKey = $"bench-{offset}-{b}" };
                for (var i = 0; i < HubBenchmark.BatchSize; i++)
                {
                    request.Items.Add(new Proto.ContributionInput
                    {
                        Signal = new Proto.Signal { Type = Proto.SignalType.Pdq, Value = HubBenchmark.PdqValue(offset + (b * HubBenchmark.BatchSize) + i), Quality = 100 },
                        Labels = { "behavior:glorification", "content_type:image" },
                        SourceKind = Proto.SourceKind.Upload,
                    });
                }
                await client.SubmitContributionsAsync(request);
            }
        })));
    }

    /// <summary>The client in this process: its CPU is part of this process's.</summary>
    internal sealed class InProcess(Proto.Contributions.ContributionsClient client) : IngestClient
    {
        public override async Task<double> IngestAsync(int offset, int count, int writers)
        {
            await SendAsync(client, offset, count, writers);
            return 0;
        }

        public override ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>
    /// The client in a child process of this benchmark (<c>ingest-client</c>), which takes one command a line
    /// on its standard input (<c>OFFSET COUNT WRITERS</c>) and answers each with the CPU seconds it spent on it.
    /// </summary>
    internal sealed class ChildProcess : IngestClient
    {
        private readonly Process _process;

        private ChildProcess(Process process) => _process = process;

        public static ChildProcess Start(int grpcPort, int httpPort, IssuedCredential credential)
        {
            // Run as this process was: its apphost, or "dotnet HashHub.Benchmarks.dll".
            var host = Environment.ProcessPath!;
            var start = new ProcessStartInfo(host) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
            if (Path.GetFileNameWithoutExtension(host) == "dotnet")
            {
                start.ArgumentList.Add(typeof(IngestClient).Assembly.Location);
            }
            foreach (var arg in new[] { "ingest-client", grpcPort.ToString(CultureInfo.InvariantCulture), httpPort.ToString(CultureInfo.InvariantCulture), credential.ClientId, credential.ClientSecret })
            {
                start.ArgumentList.Add(arg);
            }
            return new ChildProcess(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {host}."));
        }

        public override async Task<double> IngestAsync(int offset, int count, int writers)
        {
            await _process.StandardInput.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"{offset} {count} {writers}"));
            await _process.StandardInput.FlushAsync();
            var answer = await _process.StandardOutput.ReadLineAsync()
                ?? throw new InvalidOperationException($"The ingest client exited (code {(_process.HasExited ? _process.ExitCode : -1)}).");
            return double.Parse(answer, CultureInfo.InvariantCulture);
        }

        public override async ValueTask DisposeAsync()
        {
            _process.StandardInput.Close();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
            _process.Dispose();
        }
    }

    /// <summary>The child's side: <c>ingest-client GRPC_PORT HTTP_PORT CLIENT_ID CLIENT_SECRET</c>.</summary>
    internal static async Task<int> RunChildAsync(string[] args)
    {
        var grpcPort = int.Parse(args[0], CultureInfo.InvariantCulture);
        var httpPort = int.Parse(args[1], CultureInfo.InvariantCulture);
        var credential = new IssuedCredential(string.Empty, string.Empty, args[2], args[3]);
        using var channel = Channel(grpcPort, httpPort, credential, await HubBenchmark.GetTokenAsync(httpPort, credential));
        var client = new Proto.Contributions.ContributionsClient(channel);
        var self = Process.GetCurrentProcess();
        while (await Console.In.ReadLineAsync() is { } line)
        {
            var parts = line.Split(' ');
            self.Refresh();
            var before = self.TotalProcessorTime;
            await SendAsync(client, int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
            self.Refresh();
            Console.WriteLine((self.TotalProcessorTime - before).TotalSeconds.ToString("R", CultureInfo.InvariantCulture));
        }
        return 0;
    }
}
