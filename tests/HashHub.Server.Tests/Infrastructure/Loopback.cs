using System.Net;
using System.Net.Sockets;

namespace HashHub.Server.Tests.Infrastructure;

/// <summary>Loopback only: every server the tests and benchmarks start listens on 127.0.0.1.</summary>
internal static class Loopback
{
    /// <summary>A TCP port free on 127.0.0.1 at the time of the call.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
