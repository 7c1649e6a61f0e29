using System.Collections.Concurrent;
using System.Globalization;
using Google.Protobuf;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using HashHub.Protos.V1;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace HashHub.Client.Tests.Infrastructure;

/// <summary>
/// A hub that fails on purpose: a real gRPC server (Kestrel, HTTP/2 on a loopback port) whose <c>Sync/ReadChanges</c>
/// and a method the SDK does not know answer from a script (fail with a status, stall, or succeed), and whose token
/// endpoint hands out numbered tokens. It records every attempt and the token it carried.
/// </summary>
internal sealed class FlakyHub : IAsyncDisposable
{
    /// <summary>A method the SDK's interceptor does not list as safe to resend.</summary>
    public static readonly Method<ReadChangesRequest, ReadChangesResponse> NotIdempotent = new(
        MethodType.Unary, "hashhub.v1.Test", "NotIdempotent", Marshal<ReadChangesRequest>(), Marshal<ReadChangesResponse>());

    public static readonly Method<ReadChangesRequest, ReadChangesResponse> ReadChanges = new(
        MethodType.Unary, "hashhub.v1.Sync", "ReadChanges", Marshal<ReadChangesRequest>(), Marshal<ReadChangesResponse>());

    private WebApplication _app = null!;
    private readonly ConcurrentQueue<Func<ServerCallContext, Task<ReadChangesResponse>>> _script = new();
    private int _tokens;

    private FlakyHub()
    {
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>The authorization header of every attempt, in order.</summary>
    public ConcurrentQueue<string> Attempts { get; } = new();

    public int TokensIssued => Volatile.Read(ref _tokens);

    /// <summary>Lifetime the token endpoint announces (expires_in).</summary>
    public int TokenLifetimeSeconds { get; set; } = 3600;

    /// <summary>Tokens the gRPC methods refuse with Unauthenticated.</summary>
    public ConcurrentDictionary<string, bool> RejectedTokens { get; } = new();

    public static async Task<FlakyHub> StartAsync()
    {
        var hub = new FlakyHub();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(hub);
        builder.Services.AddSingleton<Service>();
        builder.Services.AddSingleton<IServiceMethodProvider<Service>, MethodProvider>();
        var app = builder.Build();
        hub._app = app;
        app.MapGrpcService<Service>();
        app.MapPost("/connect/token", (HttpContext http) =>
        {
            var n = Interlocked.Increment(ref hub._tokens);
            return Results.Json(new Dictionary<string, object>
            {
                ["access_token"] = "token-" + n.ToString(CultureInfo.InvariantCulture),
                ["token_type"] = "Bearer",
                ["expires_in"] = hub.TokenLifetimeSeconds,
            });
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        hub.Address = new Uri(address);
        return hub;
    }

    /// <summary>The next attempts' answers, in order; once the script is used up every attempt succeeds.</summary>
    public void Script(params Func<ServerCallContext, Task<ReadChangesResponse>>[] steps)
    {
        foreach (var step in steps)
        {
            _script.Enqueue(step);
        }
    }

    public static Func<ServerCallContext, Task<ReadChangesResponse>> Fail(StatusCode code, int? pushbackMs = null) => context =>
    {
        if (pushbackMs is { } ms)
        {
            context.ResponseTrailers.Add("grpc-retry-pushback-ms", ms.ToString(CultureInfo.InvariantCulture));
        }
        throw new RpcException(new Status(code, $"failing on purpose with {code}"));
    };

    /// <summary>Holds the call until the client's deadline passes (the client sees DeadlineExceeded).</summary>
    public static Func<ServerCallContext, Task<ReadChangesResponse>> Stall() => async context =>
    {
        await Task.Delay(Timeout.Infinite, context.CancellationToken).ConfigureAwait(false);
        return Ok;
    };

    public static Func<ServerCallContext, Task<ReadChangesResponse>> Succeed() => _ => Task.FromResult(Ok);

    private static ReadChangesResponse Ok => new() { NextCursor = "done" };

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private Task<ReadChangesResponse> HandleAsync(ServerCallContext context)
    {
        var authorization = context.RequestHeaders.GetValue("authorization") ?? string.Empty;
        Attempts.Enqueue(authorization);
        if (RejectedTokens.ContainsKey(authorization.Replace("Bearer ", string.Empty, StringComparison.Ordinal)))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "token rejected on purpose"));
        }
        return _script.TryDequeue(out var step) ? step(context) : Task.FromResult(Ok);
    }

    private static Marshaller<T> Marshal<T>() where T : IMessage<T>, new() =>
        Marshallers.Create(m => m.ToByteArray(), bytes => new MessageParser<T>(() => new T()).ParseFrom(bytes));

    internal sealed class Service(FlakyHub hub)
    {
        public FlakyHub Hub => hub;
    }

    private sealed class MethodProvider : IServiceMethodProvider<Service>
    {
        public void OnServiceMethodDiscovery(ServiceMethodProviderContext<Service> context)
        {
            context.AddUnaryMethod(ReadChanges, [], (service, _, call) => service.Hub.HandleAsync(call));
            context.AddUnaryMethod(NotIdempotent, [], (service, _, call) => service.Hub.HandleAsync(call));
        }
    }
}
