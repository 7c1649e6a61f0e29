using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

using HashHub.Server.Tests.Infrastructure;

namespace HashHub.Server.Tests.EndToEnd;

/// <summary>The hub as a real process on loopback ports, as an operator runs it: started, killed, restarted.</summary>
internal sealed class HubProcess : IDisposable
{
    private readonly string[] _settings;
    private readonly StringBuilder _output = new();
    private Process? _process;

    public HubProcess(IEnumerable<string> settings)
    {
        GrpcPort = Loopback.FreePort();
        HttpPort = Loopback.FreePort();
        _settings =
        [
            .. settings,
            $"--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:{GrpcPort}",
            "--Kestrel:Endpoints:Grpc:Protocols=Http2",
            $"--Kestrel:Endpoints:Http:Url=http://127.0.0.1:{HttpPort}",
            "--Kestrel:Endpoints:Http:Protocols=Http1",
        ];
    }

    public int GrpcPort { get; }
    public int HttpPort { get; }
    public string Output => _output.ToString();

    /// <summary>Runs a server command (<c>admin ...</c>) to completion and returns what it printed.</summary>
    public async Task<string> RunCommandAsync(params string[] command)
    {
        using var process = Start([.. command, .. _settings]);
        var stdout = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.That(process.ExitCode, Is.Zero, stdout + await process.StandardError.ReadToEndAsync());
        return stdout;
    }

    public async Task StartAsync()
    {
        _process = Start(_settings);
        _process.OutputDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        _process.ErrorDataReceived += (_, e) => { lock (_output) { _output.AppendLine(e.Data); } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{GrpcPort}");
        var health = new Health.HealthClient(channel);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (RpcException) when (DateTime.UtcNow < deadline && !_process.HasExited)
            {
            }
            if (_process.HasExited || DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("The hub did not start:\n" + Output);
            }
            await Task.Delay(200);
        }
    }

    /// <summary>kill -9: no shutdown hooks, no flushing.</summary>
    public void Kill()
    {
        _process?.Kill(entireProcessTree: true);
        _process?.WaitForExit();
        _process?.Dispose();
        _process = null;
    }

    public async Task<string> GetTokenAsync(string clientId, string secret)
    {
        using var http = new HttpClient();
        return await TokenRequests.GetAccessTokenAsync(http, new Uri($"http://127.0.0.1:{HttpPort}/connect/token"), clientId, secret);
    }

    public GrpcChannel Channel() => GrpcChannel.ForAddress($"http://127.0.0.1:{GrpcPort}");

    public void Dispose() => Kill();

    private static Process Start(IEnumerable<string> args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(ServerAssembly)!,
        };
        start.ArgumentList.Add(ServerAssembly);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        return Process.Start(start)!;
    }

    /// <summary>The server build beside this test build (same configuration).</summary>
    private static string ServerAssembly
    {
        get
        {
            var testBin = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
            var configuration = Path.GetFileName(Path.GetDirectoryName(testBin)!);
            var root = Path.GetFullPath(Path.Combine(testBin, "..", "..", "..", "..", ".."));
            var path = Path.Combine(root, "src", "HashHub.Server", "bin", configuration, "net10.0", "HashHub.Server.dll");
            return File.Exists(path) ? path : throw new FileNotFoundException("Build the server first (dotnet build HashHub.sln).", path);
        }
    }

}
