using HashHub.Server.Extensions;

namespace HashHub.Server;

/// <summary>Builds the hub: used by <c>Program</c>, and by the benchmarks to run a real hub on loopback.</summary>
public static class HashHubApp
{
    public static WebApplication Create(string[] args)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.AddHashHubStorage();
        builder.AddHashHubAuth();
        builder.AddHashHubGrpc();
        var app = builder.Build();
        app.MapHashHub();
        return app;
    }
}
