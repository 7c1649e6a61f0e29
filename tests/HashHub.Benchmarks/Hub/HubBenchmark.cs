using System.Diagnostics;
using Grpc.Core;
using Grpc.Net.Client;
using HashHub.Server;
using HashHub.Server.Auth;
using HashHub.Server.Matching;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using HashHub.Server.Tests.Infrastructure;
using Npgsql;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Proto = HashHub.Protos.V1;

namespace HashHub.Benchmarks.Hub;

/// <summary>
/// End-to-end figures of the hub over real loopback sockets: contribution ingest (batches of 1,000) and a full
/// sync of the whole log from an empty cursor. Usage:
/// <c>hub [--signals N] [--provider sqlite|postgres|both] [--writers W] [--client-process] [--postgres CONNECTION_STRING] [--pg-statements] [--pg-shared-buffers SIZE] [--pg-setting NAME=VALUE]...</c>;
/// without <c>--postgres</c> a throwaway PostgreSQL server is started on a free loopback port (with shared_buffers of
/// SIZE when given; 256MB otherwise, as in the tests; and each <c>--pg-setting</c> given, for A/B runs of the
/// server's configuration). On PostgreSQL each measure also prints the WAL it wrote (bytes and full-page images per
/// operation), the checkpoints that ran during it, and the server's CPU per operation by kind of process (sessions,
/// autovacuum, checkpointer, parallel workers, processes that ended meanwhile).
/// <c>--pg-statements</c> loads pg_stat_statements into that server and prints, after each measure, the
/// statements that took the most of the server's time.
/// The baseline in the same run is a single writer, so the concurrent figure is reported as a ratio to it.
/// <c>--client-process</c> sends the contributions from a child process (<see cref="IngestClient"/>), so that
/// the ingest figures split the client's CPU from the hub's and also give the hub's own capacity.
/// </summary>
internal static class HubBenchmark
{
    internal const int BatchSize = 1_000;

    private static int? _postmasterPid;
    private static string? _statements;
    private static string? _wal;
    private static AllocationSampler? _allocations;

    public static async Task<int> RunAsync(string[] args)
    {
        var signals = Option(args, "--signals", 1_000_000);
        var writers = Option(args, "--writers", 4);
        var which = args.SkipWhile(a => a != "--provider").Skip(1).FirstOrDefault() ?? "both";
        var external = args.SkipWhile(a => a != "--postgres").Skip(1).FirstOrDefault();
        var statements = args.Contains("--pg-statements");
        var clientProcess = args.Contains("--client-process");
        var warmSignals = Option(args, "--warm-signals", 0);
        using var allocations = args.Contains("--allocations") ? new AllocationSampler() : null;
        _allocations = allocations;
        var connectionOptions = string.Concat(Options(args, "--pg-connection-option").Select(o => ";" + o));
        // The throwaway server's shared_buffers (default the tests' 256 MB). A million signals with their indexes
        // outgrow 256 MB; a production server would get a few GB. One A/B at 1,000,000 signals (256MB, then 2GB):
        // PostgreSQL's CPU per ingested signal 62 -> 57 us with 4 writers, within this machine's noise.
        var sharedBuffers = args.SkipWhile(a => a != "--pg-shared-buffers").Skip(1).FirstOrDefault();
        string[] serverSettings = [.. statements ? ["shared_preload_libraries=pg_stat_statements"] : Array.Empty<string>(),
            .. sharedBuffers is null ? Array.Empty<string>() : [$"shared_buffers={sharedBuffers}"],
            .. Options(args, "--pg-setting")];
        PostgresServer? postgres = null;
        try
        {
            foreach (var provider in new[] { StorageProvider.Sqlite, StorageProvider.Postgres })
            {
                if (which != "both" && !string.Equals(which, provider.ToString(), StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }
                string? connection = null;
                if (provider == StorageProvider.Postgres && external is not null)
                {
                    connection = external;
                }
                else if (provider == StorageProvider.Postgres)
                {
                    postgres ??= await PostgresServer.StartAsync(durable: true, serverSettings);
                    connection = await postgres.CreateDatabaseAsync() + connectionOptions;
                }
                _postmasterPid = connection is null ? null : await PostmasterPidAsync(connection);
                _statements = statements ? connection : null;
                _wal = connection;
                await RunProviderAsync(provider, connection, signals, writers, clientProcess, warmSignals);
            }
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

    private static async Task RunProviderAsync(StorageProvider provider, string? connection, int signals, int writers, bool clientProcess, int warmSignals)
    {
        var data = Path.Combine(Path.GetTempPath(), "hashhub-bench-" + Guid.NewGuid().ToString("N")[..8]);
        var grpcPort = Loopback.FreePort();
        var httpPort = Loopback.FreePort();
        var args = new List<string>
        {
            $"--Storage:Provider={provider}", $"--Storage:DataDirectory={data}",
            $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{grpcPort}", $"--Kestrel:Endpoints:Http:Url=http://127.0.0.1:{httpPort}",
            "--Logging:LogLevel:Default=Warning", "--Kestrel:Endpoints:Grpc:Protocols=Http2", "--RateLimits:Enabled=false",
            // The snapshot is rebuilt when this benchmark says so, not in the background during another measure.
            "--Hub:SnapshotCheckInterval=12:00:00",
        };
        if (connection is not null)
        {
            args.Add($"--Storage:ConnectionString={connection}");
        }
        await using var app = HashHubApp.Create([.. args]);
        await app.StartAsync();
        try
        {
            IssuedCredential credential;
            await using (var scope = app.Services.CreateAsyncScope())
            {
                credential = await scope.ServiceProvider.GetRequiredService<MemberAdministration>().AddMemberAsync("Bench Member", false, HubScopes.All, CancellationToken.None, skipProbation: true);
            }
            var token = await GetTokenAsync(httpPort, credential);
            using var channel = IngestClient.Channel(grpcPort, httpPort, credential, token);
            var headers = new Metadata();
            var contributions = new Proto.Contributions.ContributionsClient(channel);
            var sync = new Proto.Sync.SyncClient(channel);
            var snapshotsClient = new Proto.Snapshots.SnapshotsClient(channel);
            var snapshots = app.Services.GetRequiredService<SnapshotStore>();
            await using IngestClient ingest = clientProcess
                ? IngestClient.ChildProcess.Start(grpcPort, httpPort, credential)
                : new IngestClient.InProcess(contributions);

            // Warm-up, not measured: the hub's code is compiled tier by tier while it runs (tiered JIT with
            // PGO), which on this machine takes tens of CPU seconds. A few batches through every path, then a
            // pause for the background compiler, so that the figures are of the steady state.
            var warmCount = warmSignals > 0 ? warmSignals / BatchSize * BatchSize : Math.Clamp(signals / 20 / BatchSize * BatchSize, BatchSize, 20 * BatchSize);
            await ingest.IngestAsync(0, warmCount, writers);
            foreach (var pageSize in new[] { 1_000, 5_000 })
            {
                await SyncAllAsync(sync, headers, pageSize);
            }
            await BootstrapAsync(snapshotsClient, sync, headers);
            await Task.Delay(TimeSpan.FromSeconds(5));

            // Baseline: one writer, a tenth of the signals. Then W concurrent writers for the rest.
            var baselineCount = Math.Max(BatchSize, signals / 10 / BatchSize * BatchSize);
            var feed = new FeedCounter(app.Services);
            var baseline = await Measure(() => ingest.IngestAsync(warmCount, baselineCount, 1));
            Report(provider, "ingest, 1 writer (baseline)", baselineCount, "signals", baseline, null);
            await feed.ReportAsync(baselineCount);
            var rest = signals - warmCount - baselineCount;
            var concurrent = await Measure(() => ingest.IngestAsync(warmCount + baselineCount, rest, writers));
            Report(provider, $"ingest, {writers} writers", rest, "signals", concurrent, (baselineCount, baseline));
            await feed.ReportAsync(rest);

            (int Count, Measurement Cost)? first = null;
            foreach (var pageSize in new[] { 1_000, 5_000 })
            {
                long received = 0;
                var cost = await Measure(async () => { received = await SyncAllAsync(sync, headers, pageSize); return 0; });
                Report(provider, $"full sync, pages of {pageSize:N0}" + (first is null ? " (baseline)" : string.Empty), (int)received, "changes", cost, first);
                first ??= ((int)received, cost);
            }

            // Bootstrapping from a snapshot instead: building it (once, whoever reads it), then a reader with an empty
            // cursor reading it and the changes after its cursor, compared with the log replays above.
            var build = await Measure(async () => { await snapshots.RebuildAsync(1, CancellationToken.None); return 0; });
            Report(provider, "snapshot build (once for all readers)", signals, "signals", build, null);
            var file = new FileInfo(Directory.GetFiles(Path.Combine(data, "snapshots"), "*.bin").Single());
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{provider,-9} snapshot file: {file.Length / 1048576.0:F1} MiB ({(double)file.Length / signals:F0} bytes per signal)"));
            long bootstrapped = 0;
            var fromSnapshot = await Measure(async () => { bootstrapped = await BootstrapAsync(snapshotsClient, sync, headers); return 0; });
            Report(provider, "full sync from the snapshot", (int)bootstrapped, "signals", fromSnapshot, first);
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

    /// <summary>
    /// One measure: wall seconds; CPU seconds of this process (the hub, and the client when it runs here), of the
    /// client when it runs in its own process, and of PostgreSQL's processes.
    /// </summary>
    internal readonly record struct Measurement(double Seconds, double SelfCpu, double PostgresCpu, WalUse? Wal = null, IReadOnlyDictionary<string, double>? PostgresByKind = null, double ClientCpu = 0, GcUse? Gc = null)
    {
        public double Cpu => SelfCpu + PostgresCpu + ClientCpu;
    }

    /// <summary>Measures <paramref name="work"/>, which returns the CPU seconds it spent in other processes than this one and PostgreSQL.</summary>
    private static async Task<Measurement> Measure(Func<Task<double>> work)
    {
        await ResetStatementsAsync();
        var walBefore = await ReadWalAsync();
        _allocations?.Reset();
        var gcBefore = GcUse.Now();
        var before = CpuMeter.ReadProcesses(_postmasterPid);
        var stopwatch = Stopwatch.StartNew();
        var clientCpu = await work();
        var seconds = stopwatch.Elapsed.TotalSeconds;
        var after = CpuMeter.ReadProcesses(_postmasterPid);
        var gc = GcUse.Now() - gcBefore;
        var walAfter = await ReadWalAsync();
        await PrintStatementsAsync();
        var byKind = before.Postgres is { } b && after.Postgres is { } a ? CpuMeter.Between(b, a) : [];
        return new Measurement(seconds, after.Self - before.Self, byKind.Values.Sum(),
            walBefore is { } wb && walAfter is { } wa ? new WalUse(wa.Bytes - wb.Bytes, wa.FullPageImages - wb.FullPageImages, wa.Checkpoints - wb.Checkpoints) : null,
            byKind, clientCpu, gc);
    }

    /// <summary>
    /// This process's garbage collector (the hub's, and the client's when it runs here): bytes allocated,
    /// collections by generation, and the time the collector paused the process.
    /// </summary>
    internal readonly record struct GcUse(long Allocated, int Gen0, int Gen1, int Gen2, TimeSpan Paused)
    {
        public static GcUse Now() => new(GC.GetTotalAllocatedBytes(), GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());

        public static GcUse operator -(GcUse a, GcUse b) => new(a.Allocated - b.Allocated, a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.Paused - b.Paused);
    }

    /// <summary>WAL written and checkpoints run (totals, or their difference over a measure).</summary>
    internal readonly record struct WalUse(long Bytes, long FullPageImages, long Checkpoints);

    /// <summary>
    /// The PostgreSQL server's WAL totals so far; null on SQLite. The bytes are the WAL's insert position, exact;
    /// full-page images and checkpoints come from the statistics views, which the server's processes update at
    /// most once a second (and an idle session within 10 s), so over a measure of a few seconds they are rough.
    /// </summary>
    private static async Task<WalUse?> ReadWalAsync()
    {
        if (_wal is null)
        {
            return null;
        }
        await using var connection = new NpgsqlConnection(_wal);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint, w.wal_fpi, b.checkpoints_timed + b.checkpoints_req FROM pg_stat_wal w, pg_stat_bgwriter b
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new WalUse(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>The server's main process, when it runs on this machine: the parent of this connection's backend.</summary>
    private static async Task<int?> PostmasterPidAsync(string connection)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_backend_pid()", c);
        var backend = (int)(await command.ExecuteScalarAsync())!;
        var parent = CpuMeter.ParentPid(backend);
        return parent > 0 && File.Exists($"/proc/{parent}/comm") && File.ReadAllText($"/proc/{parent}/comm").Trim() == "postgres" ? parent : null;
    }

    private static async Task ResetStatementsAsync()
    {
        if (_statements is null)
        {
            return;
        }
        await using var connection = new NpgsqlConnection(_statements);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT pg_stat_statements_reset();", connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task PrintStatementsAsync()
    {
        if (_statements is null)
        {
            return;
        }
        await using var connection = new NpgsqlConnection(_statements);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("""
            SELECT calls, total_exec_time, rows, regexp_replace(query, '\s+', ' ', 'g') FROM pg_stat_statements
            ORDER BY total_exec_time DESC LIMIT 12
            """, connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            var query = reader.GetString(3);
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"    {reader.GetInt64(0),8} calls {reader.GetDouble(1),10:F0} ms {reader.GetDouble(1) / reader.GetInt64(0),8:F2} ms/call {reader.GetInt64(2),9} rows  {query[..Math.Min(query.Length, 110)]}"));
        }
    }

    /// <summary>
    /// How the hub's match index took the ingested changes since the last report: applied as the hub's own writers
    /// posted them, or read back from the log (the database's work that posting saves).
    /// </summary>
    private sealed class FeedCounter(IServiceProvider services)
    {
        private readonly MatchIndexFeeder _feeder = services.GetServices<IHostedService>().OfType<MatchIndexFeeder>().Single();
        private long _read;
        private long _timeouts;

        public async Task ReportAsync(int changes)
        {
            await using (var scope = services.CreateAsyncScope())
            {
                var head = await scope.ServiceProvider.GetRequiredService<HubDbContext>().Changes.MaxAsync(c => (long?)c.Seq) ?? 0;
                await services.GetRequiredService<HubMatchIndex>().WaitForAsync(head, TimeSpan.FromMinutes(1), CancellationToken.None);
            }
            var read = _feeder.RowsRead - _read;
            var timeouts = _feeder.ReservationTimeouts - _timeouts;
            (_read, _timeouts) = (_feeder.RowsRead, _feeder.ReservationTimeouts);
            Console.WriteLine($"{string.Empty,-9} match index: {read:N0} of {changes:N0} changes read back from the log, {timeouts} wait(s) for a reserved run timed out, dropped {services.GetRequiredService<LocalChanges>().Dropped}");
        }
    }

    private static void Report(StorageProvider provider, string what, int count, string unit, Measurement m, (int Count, Measurement Cost)? baseline)
    {
        var wallRate = count / m.Seconds;
        var cpuRate = count / (m.Cpu / Environment.ProcessorCount);
        var ratio = baseline is { } b ? $"  {cpuRate / (b.Count / (b.Cost.Cpu / Environment.ProcessorCount)):F2}x baseline" : string.Empty;
        var split = m.ClientCpu > 0 ? $"hub {m.SelfCpu:F2}, client {m.ClientCpu:F2}" : $"hub+client {m.SelfCpu:F2}";
        Console.WriteLine(
            $"{provider,-9} {what,-34} {count,9:N0} {unit} | wall {m.Seconds,6:F2} s = {wallRate,9:N0}/s | cpu {m.Cpu,6:F2} s ({split}, postgres {m.PostgresCpu:F2}) = {cpuRate,9:N0}/s on {Environment.ProcessorCount} free cores{ratio}");
        if (m.ClientCpu > 0)
        {
            // What the hub's operator pays: the same work with the members' clients on their own machines.
            var hubRate = count / ((m.SelfCpu + m.PostgresCpu) / Environment.ProcessorCount);
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{string.Empty,-9} hub and PostgreSQL alone: {(m.SelfCpu + m.PostgresCpu) * 1e6 / count:F1} us per {unit.TrimEnd('s')} (hub {m.SelfCpu * 1e6 / count:F1}, postgres {m.PostgresCpu * 1e6 / count:F1}; client {m.ClientCpu * 1e6 / count:F1}) = {hubRate:N0}/s on {Environment.ProcessorCount} cores"));
        }
        if (m.Gc is { } gc && count > 0)
        {
            // Collections count every lower generation too: a gen2 collection is also counted as gen1 and gen0.
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{string.Empty,-9} GC ({(m.ClientCpu > 0 ? "hub" : "hub and client")}) {(double)gc.Allocated / count,8:F0} bytes allocated per {unit.TrimEnd('s')}; collections gen0 {gc.Gen0}, gen1 {gc.Gen1}, gen2 {gc.Gen2}; paused {gc.Paused.TotalMilliseconds:F0} ms"));
        }
        _allocations?.Print(count, unit.TrimEnd('s'));
        if (m.Wal is { } wal && count > 0)
        {
            Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"{string.Empty,-9} WAL {(double)wal.Bytes / count,8:F0} bytes and {(double)wal.FullPageImages / count,6:F3} full-page images per {unit.TrimEnd('s')}, {wal.Checkpoints} checkpoint(s)"));
        }
        if (m.PostgresByKind is { } byKind && m.PostgresCpu > 0)
        {
            // Where the server's time went, per operation: its sessions, and its background processes.
            var parts = byKind.Where(k => k.Value > 0.005).OrderByDescending(k => k.Value)
                .Select(k => string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{k.Key} {k.Value * 1e6 / count:F1} us"));
            Console.WriteLine($"{string.Empty,-9} PostgreSQL CPU per {unit.TrimEnd('s')}: {string.Join(", ", parts)}");
        }
    }

    /// <summary>Reads the whole log from an empty cursor; returns how many changes came.</summary>
    private static async Task<long> SyncAllAsync(Proto.Sync.SyncClient sync, Metadata headers, int pageSize)
    {
        long received = 0;
        var cursor = string.Empty;
        while (true)
        {
            var page = await sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor, PageSize = pageSize }, headers);
            received += page.Changes.Count;
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return received;
            }
        }
    }

    /// <summary>Reads the snapshot (every record parsed, as a reader would) and then the changes after its cursor; returns how many records and changes came.</summary>
    private static async Task<long> BootstrapAsync(Proto.Snapshots.SnapshotsClient snapshots, Proto.Sync.SyncClient sync, Metadata headers)
    {
        long received = 0;
        var cursor = string.Empty;
        using (var call = snapshots.ReadSnapshot(new Proto.ReadSnapshotRequest(), headers))
        {
            while (await call.ResponseStream.MoveNext(CancellationToken.None))
            {
                received += call.ResponseStream.Current.Signals.Count;
                cursor = call.ResponseStream.Current.Cursor.Length > 0 ? call.ResponseStream.Current.Cursor : cursor;
            }
        }
        while (true)
        {
            var page = await sync.ReadChangesAsync(new Proto.ReadChangesRequest { Cursor = cursor, PageSize = 5_000 }, headers);
            received += page.Changes.Count;
            cursor = page.NextCursor;
            if (!page.HasMore)
            {
                return received;
            }
        }
    }

    /// <summary>A deterministic, well-spread 256-bit value per index.</summary>
    internal static string PdqValue(int index)
    {
        Span<byte> bytes = stackalloc byte[32];
        var x = (ulong)index * 0x9E3779B97F4A7C15UL;
        for (var i = 0; i < 4; i++)
        {
            x ^= x >> 31;
            x *= 0xBF58476D1CE4E5B9UL;
            x ^= x >> 27;
            BitConverter.TryWriteBytes(bytes[(i * 8)..], x + (ulong)index);
        }
        return Convert.ToHexStringLower(bytes);
    }

    internal static async Task<string> GetTokenAsync(int httpPort, IssuedCredential credential)
    {
        using var http = new HttpClient();
        return await TokenRequests.GetAccessTokenAsync(http, new Uri($"http://127.0.0.1:{httpPort}/connect/token"), credential.ClientId, credential.ClientSecret);
    }

    /// <summary>The values of a repeatable option, in order.</summary>
    private static IEnumerable<string> Options(string[] args, string name) =>
        args.Select((a, i) => (a, i)).Where(x => x.a == name && x.i + 1 < args.Length).Select(x => args[x.i + 1]);

    private static int Option(string[] args, string name, int fallback)
    {
        var value = args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        return value is null ? fallback : int.Parse(value, System.Globalization.CultureInfo.InvariantCulture);
    }

}
