using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using HashHub.Client;
using HashHub.Client.Contributing;
using HashHub.Client.Matching;
using HashHub.Client.Sync;
using HashHub.Client.Tests.Infrastructure;
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
/// Takedown-to-block latency (DESIGN.md invariant 7; issue 5, point 6), as a member gets it. Member A contributes a
/// takedown with the SDK's <c>ContributeAsync</c> (a real image, hashed at A); each subscriber is a real SDK client
/// (<see cref="HashHubClient"/>) in live sync with its own SQLite store file and its own match index, exactly as a member
/// runs it. The latency of a takedown at a subscriber is the time from A's acknowledgement (<c>ContributeAsync</c>
/// returning) to the SDK's <see cref="SyncEventKind.Applied"/> event naming the takedown's signals, which the SDK raises
/// once the burst is committed to the store and applied to the index: from then on a local <c>MatchAsync</c> blocks it.
/// No polling: the event's own timestamp is the measure.
/// </summary>
/// <remarks>
/// <para>
/// Usage: <c>latency [--takedowns 200] [--subscribers 1,10,50] [--provider sqlite|postgres|both] [--warmup 10]
/// [--max-seconds 300] [--no-baseline]</c>. For each subscriber count, the baseline in the same run is the same
/// number of raw subscribers (a bare <c>Subscribe</c> stream feeding an in-memory PDQ index, with no store), so the
/// SDK's figure reads as a ratio to it: the ratio is the cost of the store's transaction (WAL, fsync) and the SDK's
/// burst handling. A unary round trip is printed as the floor.
/// </para>
/// <para>
/// Bounded: each takedown waits at most 10 s for its deliveries (a miss is reported and makes the exit status 1), and
/// a measure stops starting takedowns after <c>--max-seconds</c>. Loopback only; the hub runs in this process; the
/// stores live in one temporary folder that is deleted at the end, as is the throwaway PostgreSQL server.
/// </para>
/// </remarks>
internal static class LatencyBenchmark
{
    private static readonly TimeSpan DeliveryTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReadyTimeout = TimeSpan.FromSeconds(120);
    private static readonly string[] Labels = ["behavior:glorification"];

    /// <summary>Seeds of the synthetic images: every takedown of the run is a different image.</summary>
    private static int _nextImage;

    public static async Task<int> RunAsync(string[] args)
    {
        var settings = new Settings(
            Takedowns: int.Parse(Option(args, "--takedowns") ?? "200", CultureInfo.InvariantCulture),
            Counts: [.. (Option(args, "--subscribers") ?? "1,10,50").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture))],
            Warmup: int.Parse(Option(args, "--warmup") ?? "10", CultureInfo.InvariantCulture),
            MaxSeconds: double.Parse(Option(args, "--max-seconds") ?? "300", CultureInfo.InvariantCulture),
            Baseline: !args.Contains("--no-baseline"));
        var which = Option(args, "--provider") ?? "both";
        var root = Path.Combine(Path.GetTempPath(), "hashhub-latency-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var summary = new List<string>();
        var failures = 0;
        try
        {
            foreach (var provider in new[] { StorageProvider.Sqlite, StorageProvider.Postgres })
            {
                if (which != "both" && !string.Equals(which, provider.ToString(), StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                PostgresServer? postgres = null;
                try
                {
                    string? connection = null;
                    if (provider == StorageProvider.Postgres)
                    {
                        postgres = await PostgresServer.StartAsync(durable: true);
                        connection = await postgres.CreateDatabaseAsync();
                    }
                    failures += await RunProviderAsync(provider, connection, Path.Combine(root, provider.ToString().ToLowerInvariant()), settings, summary);
                }
                finally
                {
                    if (postgres is not null)
                    {
                        await postgres.DisposeAsync();
                    }
                }
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException e)
            {
                Console.WriteLine($"could not delete {root}: {e.Message}");
            }
        }

        Console.WriteLine();
        Console.WriteLine("| provider | subscribers | raw stream p50 / p99 | SDK p50 | SDK p95 | SDK p99 | SDK max | SDK vs raw (p50; p99) |");
        Console.WriteLine("|---|---|---|---|---|---|---|---|");
        summary.ForEach(Console.WriteLine);
        return failures == 0 ? 0 : 1;
    }

    private sealed record Settings(int Takedowns, int[] Counts, int Warmup, double MaxSeconds, bool Baseline);

    /// <summary>One measure's figures: latencies from A's acknowledgement and from A's call, in ms.</summary>
    private sealed record Figures(List<double> FromAck, List<double> FromCall, int Takedowns, int Missed, string? Check)
    {
        public double P(double percentile) => Percentile(FromAck, percentile);
    }

    /// <returns>The number of failed measures (missed deliveries, or an index that did not block).</returns>
    private static async Task<int> RunProviderAsync(StorageProvider provider, string? connection, string data, Settings settings, List<string> summary)
    {
        var grpcPort = Loopback.FreePort();
        var httpPort = Loopback.FreePort();
        var hubSettings = new List<string>
        {
            $"--Storage:Provider={provider}", $"--Storage:DataDirectory={Path.Combine(data, "hub")}",
            $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{grpcPort}", "--Kestrel:Endpoints:Grpc:Protocols=Http2",
            $"--Kestrel:Endpoints:Http:Url=http://127.0.0.1:{httpPort}",
            "--Logging:LogLevel:Default=Warning", "--RateLimits:Enabled=false",
        };
        if (connection is not null)
        {
            hubSettings.Add($"--Storage:ConnectionString={connection}");
        }
        await using var app = HashHubApp.Create([.. hubSettings]);
        await app.StartAsync();
        var failures = 0;
        try
        {
            var members = new List<IssuedCredential>();
            await using (var scope = app.Services.CreateAsyncScope())
            {
                var admin = scope.ServiceProvider.GetRequiredService<MemberAdministration>();
                for (var i = 0; i <= settings.Counts.Max(); i++)
                {
                    members.Add(await admin.AddMemberAsync($"Platform {i}", false, HubScopes.All, CancellationToken.None, skipProbation: true));
                }
            }
            var hub = new Uri($"http://127.0.0.1:{grpcPort}");
            var tokenUri = new Uri($"http://127.0.0.1:{httpPort}/connect/token");
            await using var a = await HashHubClient.OpenAsync(Options(hub, members[0], storePath: null));
            Console.WriteLine($"{provider,-9} load average at start: {LoadAverage()}");

            // Floor: a unary round trip of A's (through the SDK's token and resilience pipeline, as every A call goes).
            using (var http = new HttpClient())
            using (var channel = GrpcChannel.ForAddress(hub))
            {
                var token = await TokenRequests.GetAccessTokenAsync(http, tokenUri, members[0].ClientId, members[0].ClientSecret);
                var taxonomy = new Proto.Taxonomy.TaxonomyClient(channel);
                var headers = new Metadata { { "authorization", "Bearer " + token } };
                var roundTrips = new List<double>();
                for (var i = 0; i < 200; i++)
                {
                    var t = Stopwatch.GetTimestamp();
                    await taxonomy.ListLabelsAsync(new Proto.ListLabelsRequest(), headers);
                    roundTrips.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
                }
                Console.WriteLine($"{provider,-9} unary round trip (ListLabels), the floor          median {Percentile(roundTrips, 50),7:F2} ms  p99 {Percentile(roundTrips, 99),7:F2} ms");
            }

            foreach (var count in settings.Counts)
            {
                var subscribers = members.Skip(1).Take(count).ToList();
                Figures? raw = null;
                if (settings.Baseline)
                {
                    using var http = new HttpClient();
                    var tokens = new List<string>();
                    foreach (var m in subscribers)
                    {
                        tokens.Add(await TokenRequests.GetAccessTokenAsync(http, tokenUri, m.ClientId, m.ClientSecret));
                    }
                    raw = await MeasureAsync(a, tokens.Select(t => (ISubscriber)new RawSubscriber(hub, t)).ToList(), settings);
                    Report(provider, count, "raw stream (baseline)", raw, null);
                    failures += raw.Missed > 0 ? 1 : 0;
                }

                var stores = Path.Combine(data, $"stores-{count}");
                var sdk = subscribers.Select((m, i) => new SdkSubscriber(Options(hub, m, Path.Combine(stores, $"member-{i + 1}.db")))).ToList();
                var figures = await MeasureAsync(a, [.. sdk], settings);
                Report(provider, count, "SDK live sync", figures, raw);
                failures += figures.Missed > 0 ? 1 : 0;
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                Directory.Delete(stores, recursive: true);

                var ratio = raw is null ? "-" : $"{Compare(figures.P(50), raw.P(50))}; {Compare(figures.P(99), raw.P(99))}";
                var rawCell = raw is null ? "-" : $"{raw.P(50):F1} / {raw.P(99):F1} ms";
                summary.Add($"| {provider} | {count} | {rawCell} | {figures.P(50):F1} ms | {figures.P(95):F1} ms | {figures.P(99):F1} ms | {figures.FromAck.DefaultIfEmpty().Max():F1} ms | {ratio} |");
            }
            Console.WriteLine($"{provider,-9} load average at end: {LoadAverage()}");
        }
        finally
        {
            await app.StopAsync();
        }
        return failures;
    }

    private static HubClientOptions Options(Uri hub, IssuedCredential member, string? storePath) => new()
    {
        HubAddress = hub,
        ClientId = member.ClientId,
        ClientSecret = member.ClientSecret,
        StorePath = storePath,
    };

    /// <summary>
    /// Connects the subscribers, runs the warm-up takedowns (not measured: the first ones pay for the JIT), then one
    /// measured takedown at a time, each awaited at every subscriber (or for 10 s). For the SDK, the subscribers' local
    /// MatchAsync is then asked about the last takedown, which must say Block.
    /// </summary>
    private static async Task<Figures> MeasureAsync(HashHubClient a, List<ISubscriber> subscribers, Settings settings)
    {
        using var stop = new CancellationTokenSource();
        var running = subscribers.Select(s => s.RunAsync(stop.Token)).ToList();
        try
        {
            await Task.WhenAll(subscribers.Select(s => s.Ready)).WaitAsync(ReadyTimeout);

            var fromAck = new List<double>(settings.Takedowns * subscribers.Count);
            var fromCall = new List<double>(settings.Takedowns * subscribers.Count);
            var missed = 0;
            var measured = 0;
            var withPdq = 0;
            byte[]? last = null;
            var budget = Stopwatch.StartNew();
            for (var i = 0; i < settings.Warmup + settings.Takedowns; i++)
            {
                var warm = i < settings.Warmup;
                if (!warm && budget.Elapsed.TotalSeconds > settings.MaxSeconds)
                {
                    Console.WriteLine($"  stopped after {measured} takedowns: --max-seconds {settings.MaxSeconds} reached");
                    break;
                }
                if (i == settings.Warmup)
                {
                    budget.Restart();
                }
                var image = TestImages.Synthetic(Interlocked.Increment(ref _nextImage));
                var called = Stopwatch.GetTimestamp();
                var receipt = await a.ContributeAsync(new MemoryStream(image), Labels, new ContributionProvenance(ContributionSource.Livestream));
                var acknowledged = Stopwatch.GetTimestamp();
                var values = receipt.Signals.Select(s => s.Value).ToList();
                withPdq += !warm && receipt.Signals.Any(s => s.SignalType == "pdq") ? 1 : 0;
                // Held = every signal of the takedown in the subscriber's index (they come in one burst).
                var held = subscribers.Select(s => Task.WhenAll(values.Select(s.HeldAt)).ContinueWith(t => t.Result.Max(), TaskScheduler.Default)).ToList();
                await Task.WhenAny(Task.WhenAll(held), Task.Delay(DeliveryTimeout));
                foreach (var h in held)
                {
                    if (!h.IsCompletedSuccessfully)
                    {
                        missed += warm ? 0 : 1;
                        continue;
                    }
                    if (!warm)
                    {
                        // The push can land before A has read its own answer: that counts as 0.
                        fromAck.Add(Math.Max(0, Stopwatch.GetElapsedTime(acknowledged, h.Result).TotalMilliseconds));
                        fromCall.Add(Stopwatch.GetElapsedTime(called, h.Result).TotalMilliseconds);
                    }
                }
                measured += warm ? 0 : 1;
                last = image;
            }

            string? check = null;
            if (subscribers[0] is SdkSubscriber)
            {
                var blocked = 0;
                foreach (var s in subscribers.Cast<SdkSubscriber>())
                {
                    blocked += last is not null && await s.BlocksAsync(last) ? 1 : 0;
                }
                check = $"; the last takedown's image, matched by each subscriber's MatchAsync: Block at {blocked} of {subscribers.Count}";
                missed += subscribers.Count - blocked;
            }

            if (withPdq < measured)
            {
                Console.WriteLine($"  note: {measured - withPdq} of {measured} takedowns had no PDQ (image quality under the hub's minimum): md5 and sha256 only");
            }
            return new Figures(fromAck, fromCall, measured, missed, check);
        }
        finally
        {
            // Live sync is stopped and awaited before its client is disposed (as the SDK asks).
            await stop.CancelAsync();
            try
            {
                await Task.WhenAll(running).WaitAsync(ReadyTimeout);
            }
            catch (Exception e) when (e is not TimeoutException)
            {
                // Reported through Ready already, when it happened before the measure.
            }
            foreach (var s in subscribers)
            {
                await s.DisposeAsync();
            }
        }
    }

    private static void Report(StorageProvider provider, int count, string what, Figures f, Figures? baseline)
    {
        if (f.FromAck.Count == 0)
        {
            Console.WriteLine($"{provider,-9} {count,2} subscriber(s), {what}: nothing delivered ({f.Missed} missed)");
            return;
        }
        var ratio = baseline is { FromAck.Count: > 0 } b ? $"; vs raw: {Compare(f.P(50), b.P(50))} at the median, {Compare(f.P(99), b.P(99))} at p99" : string.Empty;
        var missed = f.Missed > 0 ? $", {f.Missed} MISSED (over {DeliveryTimeout.TotalSeconds:F0} s or not blocked)" : string.Empty;
        Console.WriteLine(
            $"{provider,-9} {count,2} subscriber(s), {what,-21} median {f.P(50),7:F2} ms  p95 {f.P(95),7:F2}  p99 {f.P(99),7:F2}  max {f.FromAck.Max(),7:F2} ms"
            + $"  ({f.Takedowns} takedowns, {f.FromAck.Count} deliveries{missed}); from A's call: median {Percentile(f.FromCall, 50):F2} ms{ratio}{f.Check}");
    }

    /// <summary>
    /// The SDK against the raw stream: a ratio, and the difference, since the raw median is often nil (the push lands
    /// before A has read its own acknowledgement) and a ratio to nothing says nothing.
    /// </summary>
    private static string Compare(double sdk, double raw) =>
        raw >= 0.5 ? $"{sdk / raw:F2}x ({sdk - raw:+0.0;-0.0} ms)" : $"{sdk - raw:+0.0;-0.0} ms";

    private static double Percentile(List<double> values, double percentile)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }
        var sorted = values.Order().ToArray();
        var rank = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";

    private static string? Option(string[] args, string name) => args.SkipWhile(x => x != name).Skip(1).FirstOrDefault();

    private interface ISubscriber : IAsyncDisposable
    {
        /// <summary>Completes once the subscriber is live and caught up.</summary>
        Task Ready { get; }

        Task RunAsync(CancellationToken cancellationToken);

        /// <summary>Completes with the <see cref="Stopwatch"/> timestamp at which the index held <paramref name="value"/>.</summary>
        Task<long> HeldAt(string value);
    }

    /// <summary>The timestamps at which values reached an index, awaited by the driver (in either order).</summary>
    private sealed class Arrivals
    {
        // Hex values: the hub's canonical form is lower case, as is the SDK's; ignore case anyway.
        private readonly ConcurrentDictionary<string, TaskCompletionSource<long>> _values = new(StringComparer.OrdinalIgnoreCase);

        public Task<long> For(string value) => Get(value).Task;

        public void Arrived(string value, long timestamp) => Get(value).TrySetResult(timestamp);

        private TaskCompletionSource<long> Get(string value) =>
            _values.GetOrAdd(value, _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously));
    }

    /// <summary>
    /// A member as it runs the SDK: its own client, store file and index; <c>SyncAsync</c> to bootstrap, then live sync.
    /// The SDK's <see cref="SyncEventKind.Applied"/> event comes after the burst's store commit and index update.
    /// </summary>
    private sealed class SdkSubscriber(HubClientOptions options) : ISubscriber
    {
        private readonly Arrivals _arrivals = new();
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private HashHubClient? _client;

        public Task Ready => _ready.Task;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            try
            {
                _client = await HashHubClient.OpenAsync(options, cancellationToken);
                await _client.SyncAsync(cancellationToken);
                await _client.RunLiveSyncAsync(OnEvent, cancellationToken);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped while opening or bootstrapping.
            }
            catch (Exception e)
            {
                _ready.TrySetException(e);
                throw;
            }
        }

        public Task<long> HeldAt(string value) => _arrivals.For(value);

        /// <summary>Whether the member's local MatchAsync blocks this image now.</summary>
        public async Task<bool> BlocksAsync(byte[] image) =>
            _client is not null && (await _client.MatchAsync(new MemoryStream(image))).Action == MatchAction.Block;

        public async ValueTask DisposeAsync()
        {
            if (_client is not null)
            {
                await _client.DisposeAsync();
            }
        }

        private void OnEvent(SyncEvent e)
        {
            if (e.Kind == SyncEventKind.Applied)
            {
                var now = Stopwatch.GetTimestamp();
                foreach (var value in e.SignalValues)
                {
                    _arrivals.Arrived(value, now);
                }
            }
            else if (e.Kind == SyncEventKind.CaughtUp)
            {
                _ready.TrySetResult();
            }
        }
    }

    /// <summary>
    /// The baseline: a bare Subscribe stream feeding an in-memory PDQ index and a set of exact values, with no store,
    /// no transaction and no SDK. What the wire and the hub's push cost by themselves.
    /// </summary>
    private sealed class RawSubscriber(Uri hub, string token) : ISubscriber
    {
        private readonly GrpcChannel _channel = GrpcChannel.ForAddress(hub);
        private readonly PdqMultiIndex _pdq = new();
        private readonly ConcurrentDictionary<string, bool> _exact = new(StringComparer.Ordinal);
        private readonly Arrivals _arrivals = new();
        private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task Ready => _ready.Task;

        public async Task RunAsync(CancellationToken cancellationToken)
        {
            var sync = new Proto.Sync.SyncClient(_channel);
            using var call = sync.Subscribe(new Proto.SubscribeRequest(), new Metadata { { "authorization", "Bearer " + token } }, cancellationToken: cancellationToken);
            var id = 0;
            try
            {
                await foreach (var message in call.ResponseStream.ReadAllAsync(cancellationToken))
                {
                    if (message.Change is { Signal: { Status: Proto.SignalStatus.Active } record })
                    {
                        var signal = record.Signal;
                        if (signal.Type == Proto.SignalType.Pdq)
                        {
                            _pdq.Add(++id, Hash256.Parse(signal.Value));
                        }
                        else
                        {
                            _exact[signal.Value] = true;
                        }
                        _arrivals.Arrived(signal.Value, Stopwatch.GetTimestamp());
                    }
                    else if (message.CaughtUp is not null)
                    {
                        _ready.TrySetResult();
                    }
                }
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled)
            {
            }
            catch (OperationCanceledException)
            {
            }
            catch (Exception e)
            {
                _ready.TrySetException(e);
                throw;
            }
        }

        public Task<long> HeldAt(string value) => _arrivals.For(value);

        public ValueTask DisposeAsync()
        {
            _channel.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
