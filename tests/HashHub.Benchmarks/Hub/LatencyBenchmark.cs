using System.Collections.Concurrent;
using System.Diagnostics;
using System.Security.Cryptography;
using Grpc.Core;
using Grpc.Net.Client;
using HashHub.Core.Matching;
using HashHub.Server;
using HashHub.Server.Auth;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Proto = HashHub.Protos.V1;

namespace HashHub.Benchmarks.Hub;

/// <summary>
/// Takedown-to-block latency (DESIGN.md invariant 7): member A contributes a takedown; each live subscriber (a
/// member platform holding a Subscribe stream and its own in-memory PDQ index, as the SDK does) adds the
/// signal to its index. The figure is the time from A's acknowledgement to a subscriber's index holding the
/// signal, over real loopback gRPC, for 1, 10 and 50 subscribers (each its own member and connection). Usage:
/// <c>latency [--takedowns 200] [--subscribers 1,10,50] [--provider sqlite|postgres]</c>. The baseline in the
/// same run is one subscriber; the others are reported as ratios to it, beside a unary call's round trip.
/// </summary>
internal static class LatencyBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var takedowns = int.Parse(Option(args, "--takedowns") ?? "200", System.Globalization.CultureInfo.InvariantCulture);
        var counts = (Option(args, "--subscribers") ?? "1,10,50").Split(',').Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture)).ToArray();
        var provider = Enum.Parse<StorageProvider>(Option(args, "--provider") ?? "sqlite", ignoreCase: true);
        PostgresServer? postgres = null;
        try
        {
            string? connection = null;
            if (provider == StorageProvider.Postgres)
            {
                postgres = await PostgresServer.StartAsync(durable: true);
                connection = await postgres.CreateDatabaseAsync();
            }
            await RunAsync(provider, connection, takedowns, counts);
        }
        finally
        {
            if (postgres is not null)
            {
                await postgres.DisposeAsync();
            }
        }
        return 0;
    }

    private static async Task RunAsync(StorageProvider provider, string? connection, int takedowns, int[] counts)
    {
        var data = Path.Combine(Path.GetTempPath(), "hashhub-latency-" + Guid.NewGuid().ToString("N")[..8]);
        var grpcPort = Loopback.FreePort();
        var httpPort = Loopback.FreePort();
        var settings = new List<string>
        {
            $"--Storage:Provider={provider}", $"--Storage:DataDirectory={data}",
            $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{grpcPort}", "--Kestrel:Endpoints:Grpc:Protocols=Http2",
            $"--Kestrel:Endpoints:Http:Url=http://127.0.0.1:{httpPort}",
            "--Logging:LogLevel:Default=Warning", "--RateLimits:Enabled=false",
        };
        if (connection is not null)
        {
            settings.Add($"--Storage:ConnectionString={connection}");
        }
        await using var app = HashHubApp.Create([.. settings]);
        await app.StartAsync();
        try
        {
            var members = new List<IssuedCredential>();
            await using (var scope = app.Services.CreateAsyncScope())
            {
                var admin = scope.ServiceProvider.GetRequiredService<MemberAdministration>();
                for (var i = 0; i <= counts.Max(); i++)
                {
                    members.Add(await admin.AddMemberAsync($"Platform {i}", false, HubScopes.All, CancellationToken.None, skipProbation: true));
                }
            }
            using var http = new HttpClient();
            var tokenUri = new Uri($"http://127.0.0.1:{httpPort}/connect/token");
            var tokens = new List<string>();
            foreach (var m in members)
            {
                tokens.Add(await TokenRequests.GetAccessTokenAsync(http, tokenUri, m.ClientId, m.ClientSecret));
            }
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
            var a = new Metadata { { "authorization", "Bearer " + tokens[0] } };
            var contributions = new Proto.Contributions.ContributionsClient(channel);

            // Floor: a unary round trip on the same connection.
            var taxonomy = new Proto.Taxonomy.TaxonomyClient(channel);
            var roundTrips = new List<double>();
            for (var i = 0; i < 200; i++)
            {
                var t = Stopwatch.GetTimestamp();
                await taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest(), a);
                roundTrips.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
            }
            Console.WriteLine($"{provider,-9} unary round trip (ListLabels)          median {Percentile(roundTrips, 50),7:F2} ms  p99 {Percentile(roundTrips, 99),7:F2} ms");

            double? baseline = null;
            foreach (var count in counts)
            {
                var (latencies, fromSend) = await MeasureAsync(grpcPort, contributions, a, tokens.Skip(1).Take(count).ToList(), takedowns);
                var median = Percentile(latencies, 50);
                var p99 = Percentile(latencies, 99);
                var ratio = baseline is { } b ? $"  p99 {p99 / b:F2}x baseline" : "  (baseline)";
                baseline ??= p99;
                Console.WriteLine($"{provider,-9} takedown to block, {count,2} subscriber(s)  median {median,7:F2} ms  p99 {p99,7:F2} ms  max {latencies.Max(),7:F2} ms  ({latencies.Count} deliveries){ratio}; from A's send: median {Percentile(fromSend, 50):F2} ms, p99 {Percentile(fromSend, 99):F2} ms");
            }
        }
        finally
        {
            await app.StopAsync();
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(data, true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>One takedown at a time; each waits until every subscriber's index holds it (or 10 s pass).</summary>
    private static async Task<(List<double> FromAck, List<double> FromSend)> MeasureAsync(int grpcPort, Proto.Contributions.ContributionsClient contributions, Metadata a, List<string> tokens, int takedowns)
    {
        using var stop = new CancellationTokenSource();
        var subscribers = tokens.Select(t => new Subscriber(grpcPort, t)).ToList();
        var running = subscribers.Select(s => s.RunAsync(stop.Token)).ToList();
        await Task.WhenAll(subscribers.Select(s => s.CaughtUp.Task));

        var latencies = new List<double>(takedowns * subscribers.Count);
        var fromSend = new List<double>(takedowns * subscribers.Count);
        for (var i = 0; i < takedowns; i++)
        {
            var value = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
            var request = new Proto.SubmitContributionsRequest { IdempotencyKey = Guid.NewGuid().ToString("N") };
            request.Items.Add(new Proto.ContributionInput
            {
                Signal = new Proto.Signal { Type = Proto.SignalType.Pdq, Value = value, Quality = 100 },
                Labels = { "behavior:glorification" },
                SourceKind = Proto.SourceKind.Livestream,
            });
            var waits = subscribers.Select(s => s.Expect(value)).ToList();
            var sent = Stopwatch.GetTimestamp();
            await contributions.SubmitContributionsAsync(request, a);
            var acknowledged = Stopwatch.GetTimestamp();
            var held = await Task.WhenAll(waits.Select(w => w.WaitAsync(TimeSpan.FromSeconds(10))));
            // A subscriber may hold the signal before A has read its acknowledgement: that counts as 0.
            latencies.AddRange(held.Select(t => Math.Max(0, Stopwatch.GetElapsedTime(acknowledged, t).TotalMilliseconds)));
            fromSend.AddRange(held.Select(t => Stopwatch.GetElapsedTime(sent, t).TotalMilliseconds));
        }

        await stop.CancelAsync();
        await Task.WhenAll(running);
        foreach (var s in subscribers)
        {
            s.Dispose();
        }
        return (latencies, fromSend);
    }

    private static double Percentile(List<double> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    private static string? Option(string[] args, string name) => args.SkipWhile(x => x != name).Skip(1).FirstOrDefault();

    /// <summary>A member platform's live sync: a Subscribe stream feeding its own PDQ index.</summary>
    private sealed class Subscriber(int grpcPort, string token) : IDisposable
    {
        private readonly GrpcChannel _channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
        private readonly PdqMultiIndex _index = new();
        private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _expected = new(StringComparer.Ordinal);

        public TaskCompletionSource CaughtUp { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        /// <summary>Completes with the timestamp at which the index held <paramref name="value"/>.</summary>
        public Task<long> Expect(string value) =>
            _expected.GetOrAdd(value, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var sync = new Proto.Sync.SyncClient(_channel);
            using var call = sync.Subscribe(new Proto.SubscribeRequest(), new Metadata { { "authorization", "Bearer " + token } }, cancellationToken: cancellationToken);
            var id = 0;
            try
            {
                await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    if (message.Change is { } change && change.Signal.Status == Proto.SignalStatus.Active)
                    {
                        _index.Add(++id, Hash256.Parse(change.Signal.Signal.Value));
                        _expected.GetOrAdd(change.Signal.Signal.Value, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously))
                            .TrySetResult(Stopwatch.GetTimestamp());
                    }
                    else if (message.CaughtUp is not null)
                    {
                        CaughtUp.TrySetResult();
                    }
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
            {
            }
            catch (OperationCanceledException)
            {
            }
        }

        public void Dispose() => _channel.Dispose();
    }
}
