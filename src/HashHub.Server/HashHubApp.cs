using HashHub.Server.Extensions;
using HashHub.Server.RateLimiting;

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
        builder.AddHashHubRateLimits();
        var app = builder.Build();
        app.MapHashHub();
        return app;
    }
}
