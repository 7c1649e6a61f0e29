using HashHub.Server.AdminConsole;
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
using OpenIddict.Abstractions;
using OpenIddict.Server;
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
                // Access tokens are encrypted with a symmetric key (OpenIddict picks symmetric keys first). The RSA key
                // earlier versions encrypted them with, when present, still decrypts the tokens issued before.
                o.AddEncryptionKey(KeyStore.LoadOrCreateSymmetric(keyDirectory, "token-encryption"));
                if (KeyStore.LoadExisting(keyDirectory, "encryption") is { } previousEncryptionKey)
                {
                    o.AddEncryptionKey(previousEncryptionKey);
                }
                // Access tokens are checked by the hub itself; storing each one would add a write per token.
                o.DisableTokenStorage();
                // RFC 7523 section 3.2: a client assertion that fails validation (wrong audience included) is a client
                // authentication failure, answered invalid_client; OpenIddict reports some of them as invalid_token.
                o.AddEventHandler<OpenIddictServerEvents.ApplyTokenResponseContext>(handler => handler
                    .UseInlineHandler(context =>
                    {
                        if (!string.IsNullOrEmpty(context.Request?.ClientAssertion) && context.Response.Error == OpenIddictConstants.Errors.InvalidToken)
                        {
                            context.Response.Error = OpenIddictConstants.Errors.InvalidClient;
                        }
                        return default;
                    })
                    .SetOrder(int.MinValue));
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
        // Every hub policy names the bearer scheme: the admin console's cookie never authorises a gRPC call.
        static AuthorizationPolicyBuilder Bearer(AuthorizationPolicyBuilder p) =>
            p.AddAuthenticationSchemes(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme).RequireAuthenticatedUser();
        builder.Services.AddAuthorizationBuilder()
            .SetFallbackPolicy(Bearer(new AuthorizationPolicyBuilder()).Build())
            .AddPolicy(HubPolicies.Read, p => Bearer(p).AddRequirements(new MemberRequirement(HubScopes.Read, AdminOnly: false)))
            .AddPolicy(HubPolicies.Write, p => Bearer(p).AddRequirements(new MemberRequirement(HubScopes.Write, AdminOnly: false)))
            .AddPolicy(HubPolicies.Feedback, p => Bearer(p).AddRequirements(new MemberRequirement(HubScopes.Feedback, AdminOnly: false)))
            .AddPolicy(HubPolicies.Admin, p => Bearer(p).AddRequirements(new MemberRequirement(null, AdminOnly: true)))
            .AddPolicy(HubPolicies.Member, p => Bearer(p).AddRequirements(new MemberRequirement(null, AdminOnly: false)));
        builder.Services.AddScoped<MemberAdministration>();
        builder.Services.AddScoped<MembershipApplications>();
        builder.Services.AddScoped<Taxonomy.LabelCatalog>();
        builder.AddHashHubConsole(keyDirectory);
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
        })
        // The member RPCs also as JSON over HTTP (routes from the google.api.http rules in protos/), for stacks
        // without gRPC; same authorisation, limits and errors, since it is the same endpoint.
        // The error details the hub attaches (google.rpc.BadRequest) must be known to write them as JSON.
        .AddJsonTranscoding(o => o.TypeRegistry = Google.Protobuf.Reflection.TypeRegistry.FromMessages(
            Google.Rpc.BadRequest.Descriptor, Google.Rpc.ErrorInfo.Descriptor, Google.Rpc.RetryInfo.Descriptor));
        builder.Services.AddGrpcSwagger();
        builder.Services.AddSwaggerGen(o =>
        {
            o.SwaggerDoc("v1", new Microsoft.OpenApi.Models.OpenApiInfo
            {
                Title = "HashHub member API (JSON)",
                Version = "v1",
                Description = "The member RPCs of protos/hashhub/v1, transcoded to JSON over HTTP. Get a token at POST /connect/token (client credentials) and send it as Authorization: Bearer.",
            });
            o.AddSecurityDefinition("bearer", new Microsoft.OpenApi.Models.OpenApiSecurityScheme
            {
                Type = Microsoft.OpenApi.Models.SecuritySchemeType.OAuth2,
                Flows = new Microsoft.OpenApi.Models.OpenApiOAuthFlows
                {
                    ClientCredentials = new Microsoft.OpenApi.Models.OpenApiOAuthFlow { TokenUrl = new Uri(TokenEndpoint.Path, UriKind.Relative) },
                },
            });
            var comments = Path.Combine(AppContext.BaseDirectory, "HashHub.Server.xml");
            if (File.Exists(comments))
            {
                o.IncludeXmlComments(comments);
                o.IncludeGrpcXmlComments(comments, includeControllerXmlComments: true);
            }
        });
        builder.Services.AddGrpcReflection();
        builder.Services.AddGrpcHealthChecks().AddCheck<StorageHealthCheck>("storage");
        builder.Services.AddScoped<ContributionService>();
        builder.Services.AddSingleton<SnapshotStore>();
        builder.Services.AddHostedService<SnapshotRebuilder>();
        Microsoft.Extensions.DependencyInjection.Extensions.ServiceCollectionDescriptorExtensions.TryAddEnumerable(builder.Services, ServiceDescriptor.Singleton<Grpc.AspNetCore.Server.Model.IServiceMethodProvider<SnapshotsGrpcService>, SnapshotsMethodProvider>());
        builder.Services.AddScoped<Probation.HeldContributions>();
        builder.Services.AddSingleton<MemberDirectory>();
        builder.Services.AddSingleton<HubMatchIndex>();
        builder.Services.AddSingleton<LocalChanges>();
        builder.Services.AddHostedService<MatchIndexFeeder>();
        builder.Services.AddScoped<MatchService>();
        builder.Services.AddScoped<OutcomeService>();
        return builder;
    }

    public static WebApplication MapHashHub(this WebApplication app)
    {
        // The OpenAPI document of the JSON API, public like the contract it describes (no UI: tools read it).
        // Before authorization, whose fallback policy would otherwise ask a token for it.
        app.UseSwagger(o => o.RouteTemplate = "openapi/{documentName}.json");
        app.UseAuthentication();
        // After authentication, so limits are per member; before authorization and the services.
        app.UseRateLimiter();
        app.UseAuthorization();
        app.MapPost(TokenEndpoint.Path, TokenEndpoint.HandleAsync).AllowAnonymous();
        app.MapGrpcService<ContributionsGrpcService>();
        app.MapGrpcService<SyncGrpcService>();
        app.MapGrpcService<SnapshotsGrpcService>();
        app.MapGrpcService<TaxonomyGrpcService>();
        app.MapGrpcService<Audit.AuditGrpcService>();
        app.MapGrpcService<MembersGrpcService>();
        app.MapGrpcService<ApplicationsGrpcService>();
        app.MapGrpcService<Sharing.SharingGroupsGrpcService>();
        app.MapGrpcService<Probation.ProbationGrpcService>();
        app.MapGrpcService<MatchingGrpcService>();
        app.MapGrpcHealthChecksService().AllowAnonymous();
        app.MapGrpcReflectionService().AllowAnonymous();
        app.MapHashHubConsole();
        app.MapGet("/", () => "HashHub: a gRPC hub for sharing hashes of terrorist and violent extremist content. See the README.").AllowAnonymous();
        return app;
    }
}
