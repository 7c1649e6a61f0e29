using System.Diagnostics;
using Npgsql;

namespace HashHub.Server.Tests.Infrastructure;

/// <summary>
/// A real, throwaway PostgreSQL server for the tests: initdb into a temporary folder, pg_ctl start on a free
/// loopback port, and rm -rf at the end. As root (CI) it runs as the <c>postgres</c> system user, since
/// PostgreSQL refuses to run as root. A machine without PostgreSQL fails the tests loudly: they are never skipped.
/// </summary>
internal sealed class PostgresServer : IAsyncDisposable
{
    private readonly string _directory;
    private readonly string _binDirectory;
    private readonly bool _asPostgresUser;
    private int _databases;

    private PostgresServer(string directory, string binDirectory, bool asPostgresUser, int port)
    {
        _directory = directory;
        _binDirectory = binDirectory;
        _asPostgresUser = asPostgresUser;
        Port = port;
    }

    public int Port { get; }

    public string AdminConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=false";

    /// <summary>
    /// Starts a server. Tests run it with fsync off (a throwaway server need not survive a power cut);
    /// benchmarks pass <paramref name="durable"/> so commits cost what they cost in production, and may pass
    /// extra <paramref name="settings"/> (name=value) such as shared_preload_libraries=pg_stat_statements.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(bool durable = false, IReadOnlyList<string>? settings = null)
    {
        var bin = FindBinDirectory();
        var asPostgresUser = Environment.UserName == "root";
        var directory = Path.Combine(Path.GetTempPath(), "hashhub-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(directory);
        if (asPostgresUser)
        {
            await RunAsync("chown", ["postgres:postgres", directory], asUser: null);
        }
        var port = Loopback.FreePort();
        var server = new PostgresServer(directory, bin, asPostgresUser, port);
        var data = Path.Combine(directory, "data");
        await server.RunPgAsync("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--no-locale"]);
        await server.RunPgAsync("pg_ctl", ["-D", data, "-l", Path.Combine(directory, "log.txt"), "-w", "-t", "60", "start",
            "-o", $"-p {port} -k {directory} -c listen_addresses=127.0.0.1 -c fsync={(durable ? "on" : "off")} -c max_connections=300 -c shared_buffers=256MB"
            + string.Concat((settings ?? []).Select(x => " -c " + x))]);
        return server;
    }

    /// <summary>Creates a fresh, empty database and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync()
    {
        var name = $"hashhub_test_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}";
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
        await command.ExecuteNonQueryAsync();
        return $"Host=127.0.0.1;Port={Port};Username=postgres;Database={name};Maximum Pool Size=60";
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunPgAsync("pg_ctl", ["-D", Path.Combine(_directory, "data"), "-m", "immediate", "-w", "stop"]);
        }
        finally
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    private Task RunPgAsync(string tool, string[] args) =>
        RunAsync(Path.Combine(_binDirectory, tool), args, _asPostgresUser ? "postgres" : null);

    private static async Task RunAsync(string file, string[] args, string? asUser)
    {
        var start = new ProcessStartInfo(asUser is null ? file : "runuser")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (asUser is not null)
        {
            foreach (var a in new[] { "-u", asUser, "--", file })
            {
                start.ArgumentList.Add(a);
            }
        }
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}: {await stdout}{await stderr}");
        }
    }

    private static string FindBinDirectory()
    {
        var candidates = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':')
            .Concat(Directory.Exists("/usr/lib/postgresql")
                ? Directory.GetDirectories("/usr/lib/postgresql").OrderDescending().Select(d => Path.Combine(d, "bin"))
                : []);
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
            ?? throw new InvalidOperationException(
                "PostgreSQL is not installed: initdb and pg_ctl were found neither on PATH nor under /usr/lib/postgresql. " +
                "Install it (apt-get install postgresql), as .ci/run does.");
    }

}
