using HashHub.Server.Auth;
using HashHub.Server.Contributions;
using HashHub.Server.Errors;
using HashHub.Server.Matching;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using HashHub.Server.Taxonomy;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using OpenIddict.Validation.AspNetCore;

namespace HashHub.Server.Extensions;

internal static class HashHubHostingExtensions
{
    /// <summary>Storage: EF Core over the configured provider, and the change log.</summary>
    public static WebApplicationBuilder AddHashHubStorage(this WebApplicationBuilder builder)
    {
        var section = builder.Configuration.GetSection(StorageOptions.Section);
        builder.Services.AddOptions<StorageOptions>().Bind(section).ValidateDataAnnotations().ValidateOnStart();
        var storage = section.Get<StorageOptions>() ?? new StorageOptions();
        builder.Services.AddHubDbContext(storage);
        builder.Services.AddSingleton<HubEpoch>();
        builder.Services.AddSingleton<HubStorageInitializer>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<HubStorageInitializer>());
        builder.Services.AddSingleton<ChangeNotifier>();
        builder.Services.AddSingleton<ChangeLog>();
        if (storage.Provider == StorageProvider.Postgres)
        {
            builder.Services.AddHostedService<PostgresChangeListener>();
        }
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }

    /// <summary>OAuth2: OpenIddict's token endpoint (client credentials) and bearer validation of every call.</summary>
    public static WebApplicationBuilder AddHashHubAuth(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<AuthOptions>().Bind(builder.Configuration.GetSection(AuthOptions.Section));
        var auth = builder.Configuration.GetSection(AuthOptions.Section).Get<AuthOptions>() ?? new AuthOptions();
        var storage = builder.Configuration.GetSection(StorageOptions.Section).Get<StorageOptions>() ?? new StorageOptions();
        var keyDirectory = auth.KeyDirectory ?? Path.Combine(Path.GetFullPath(storage.DataDirectory), "keys");

        builder.Services.AddOpenIddict()
            .AddCore(o => o.UseEntityFrameworkCore().UseDbContext<HubDbContext>())
            .AddServer(o =>
            {
                o.SetIssuer(auth.Issuer);
                o.SetTokenEndpointUris(TokenEndpoint.Path.TrimStart('/'));
                o.AllowClientCredentialsFlow();
                o.RegisterScopes(HubScopes.All);
                o.SetAccessTokenLifetime(auth.AccessTokenLifetime);
                o.AddSigningKey(KeyStore.LoadOrCreate(keyDirectory, "signing"));
                o.AddEncryptionKey(KeyStore.LoadOrCreate(keyDirectory, "encryption"));
                // Access tokens are checked by the hub itself; storing each one would add a write per token.
                o.DisableTokenStorage();
                // TLS is terminated in front of the hub (reverse proxy, ingress) or the hub listens on loopback.
                o.UseAspNetCore().EnableTokenEndpointPassthrough().DisableTransportSecurityRequirement();
            })
            .AddValidation(o =>
            {
                o.UseLocalServer();
                o.UseAspNetCore();
            });

        builder.Services.AddAuthentication(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme);
        builder.Services.AddScoped<IAuthorizationHandler, MemberRequirementHandler>();
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build())
            .AddPolicy(HubPolicies.Read, p => p.RequireAuthenticatedUser().AddRequirements(new MemberRequirement(HubScopes.Read, AdminOnly: false)))
            .AddPolicy(HubPolicies.Write, p => p.RequireAuthenticatedUser().AddRequirements(new MemberRequirement(HubScopes.Write, AdminOnly: false)))
            .AddPolicy(HubPolicies.Feedback, p => p.RequireAuthenticatedUser().AddRequirements(new MemberRequirement(HubScopes.Feedback, AdminOnly: false)))
            .AddPolicy(HubPolicies.Admin, p => p.RequireAuthenticatedUser().AddRequirements(new MemberRequirement(null, AdminOnly: true)));
        builder.Services.AddScoped<MemberAdministration>();
        return builder;
    }

    /// <summary>The gRPC services, health, reflection and error mapping.</summary>
    public static WebApplicationBuilder AddHashHubGrpc(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HubOptions>().Bind(builder.Configuration.GetSection(HubOptions.Section)).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton(sp => sp.GetRequiredService<IOptions<HubOptions>>().Value);
        builder.Services.AddGrpc(o =>
        {
            o.Interceptors.Add<ErrorMappingInterceptor>();
            o.MaxReceiveMessageSize = 64 * 1024 * 1024;
            o.MaxSendMessageSize = 64 * 1024 * 1024;
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks().AddCheck<StorageHealthCheck>("storage");
        builder.Services.AddScoped<ContributionService>();
        builder.Services.AddSingleton<MemberDirectory>();
        builder.Services.AddSingleton<HubMatchIndex>();
        builder.Services.AddHostedService<MatchIndexFeeder>();
        builder.Services.AddScoped<MatchService>();
        builder.Services.AddScoped<OutcomeService>();
        return builder;
    }

    public static WebApplication MapHashHub(this WebApplication app)
    {
        app.UseAuthentication();
        // After authentication, so limits are per member; before authorization and the services.
        app.UseRateLimiter();
        app.UseAuthorization();
        app.MapPost(TokenEndpoint.Path, TokenEndpoint.HandleAsync).AllowAnonymous();
        app.MapGrpcService<ContributionsGrpcService>();
        app.MapGrpcService<SyncGrpcService>();
        app.MapGrpcService<TaxonomyGrpcService>();
        app.MapGrpcService<Audit.AuditGrpcService>();
        app.MapGrpcService<MembersGrpcService>();
        app.MapGrpcService<ApplicationsGrpcService>();
        app.MapGrpcService<MatchingGrpcService>();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService().AllowAnonymous();
        app.MapGet("/", () => "HashHub: a gRPC hub for sharing hashes of terrorist and violent extremist content. See the README.").AllowAnonymous();
        return app;
    }
}
