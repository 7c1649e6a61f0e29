using System.Reflection;
using System.Security.Claims;
using HashHub.Server.Auth;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;

namespace HashHub.Server.AdminConsole;

/// <summary>
/// The admin console: server-rendered Razor Pages under <c>/console</c> on the hub's own endpoints, signed in with
/// ASP.NET Core Identity (password, then an authenticator app's TOTP code) and a cookie that is good for the
/// console only. The gRPC API keeps bearer tokens: the hub's policies name the bearer scheme and the console's
/// name the cookie, so neither credential opens the other door.
/// </summary>
internal static class ConsoleExtensions
{
    public const string PathPrefix = "/console";
    private const string CssPath = PathPrefix + "/console.css";

    public static WebApplicationBuilder AddHashHubConsole(this WebApplicationBuilder builder, string keyDirectory)
    {
        var services = builder.Services;
        // Cookies and anti-forgery tokens are encrypted with these keys: kept beside the token keys, so they
        // survive a restart and every node of one hub (sharing the key folder) reads the others' cookies.
        services.AddDataProtection()
            .PersistKeysToFileSystem(new DirectoryInfo(Path.Combine(keyDirectory, "data-protection")))
            .SetApplicationName("HashHub");

        services.AddIdentityCore<ConsoleUser>(o =>
            {
                o.User.RequireUniqueEmail = true;
                o.Password.RequiredLength = 12;
                o.Password.RequireNonAlphanumeric = false;
                // Five wrong passwords or codes in a row lock the account for 15 minutes (counted per user).
                o.Lockout.AllowedForNewUsers = true;
                o.Lockout.MaxFailedAccessAttempts = 5;
                o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(15);
                o.SignIn.RequireConfirmedAccount = false;
            })
            .AddEntityFrameworkStores<HubDbContext>()
            .AddSignInManager()
            .AddDefaultTokenProviders();

        services.AddAuthentication().AddIdentityCookies(cookies =>
        {
            cookies.ApplicationCookie!.Configure(o =>
            {
                o.Cookie.Name = "hashhub.console";
                o.Cookie.Path = PathPrefix;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                o.LoginPath = PathPrefix + "/signin";
                o.LogoutPath = PathPrefix + "/signout";
                // Signed in but without the second factor: the one thing left to do is enrol it.
                o.AccessDeniedPath = PathPrefix + "/enrol";
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
            });
            cookies.TwoFactorUserIdCookie!.Configure(o =>
            {
                o.Cookie.Name = "hashhub.console.2fa";
                o.Cookie.Path = PathPrefix;
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
            });
            cookies.TwoFactorRememberMeCookie!.Configure(o => o.Cookie.Path = PathPrefix);
            cookies.ExternalCookie!.Configure(o => o.Cookie.Path = PathPrefix);
        });
        services.Configure<SecurityStampValidatorOptions>(o =>
        {
            // The cookie is re-issued every few minutes (a disabled or locked-out user loses the console within that
            // time); keep the "second factor done" claim across the re-issue.
            o.ValidationInterval = TimeSpan.FromMinutes(5);
            o.OnRefreshingPrincipal = context =>
            {
                var amr = context.CurrentPrincipal?.FindFirst(ConsolePolicies.MultiFactorClaim);
                if (amr is not null && context.NewPrincipal?.Identity is ClaimsIdentity identity && !identity.HasClaim(c => c.Type == amr.Type))
                {
                    identity.AddClaim(new Claim(amr.Type, amr.Value));
                }
                return Task.CompletedTask;
            };
        });

        services.AddAuthorizationBuilder()
            .AddPolicy(ConsolePolicies.Admin, p => p
                .AddAuthenticationSchemes(IdentityConstants.ApplicationScheme)
                .RequireAuthenticatedUser()
                .RequireClaim(ConsolePolicies.MultiFactorClaim, ConsolePolicies.MultiFactorValue))
            .AddPolicy(ConsolePolicies.Enrolling, p => p
                .AddAuthenticationSchemes(IdentityConstants.ApplicationScheme)
                .RequireAuthenticatedUser());

        services.AddRazorPages(o => o.RootDirectory = "/")
            .AddMvcOptions(o => o.Filters.Add(new Microsoft.AspNetCore.Mvc.ResponseCacheAttribute { NoStore = true, Location = Microsoft.AspNetCore.Mvc.ResponseCacheLocation.None }));
        // Links are generated in lower case, matching the cookie's path (browsers compare cookie paths case-sensitively).
        services.Configure<RouteOptions>(o => o.LowercaseUrls = true);
        services.AddAntiforgery(o =>
        {
            o.Cookie.Name = "hashhub.console.af";
            o.Cookie.Path = PathPrefix;
            o.Cookie.SameSite = SameSiteMode.Strict;
            o.FormFieldName = "__af";
        });
        services.AddScoped<ConsoleUsers>();
        return builder;
    }

    public static WebApplication MapHashHubConsole(this WebApplication app)
    {
        // The console's pages use no script and no inline style: a strict policy costs nothing and stops framing
        // (clickjacking an approve button) and injected content.
        app.Use((context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(PathPrefix, StringComparison.OrdinalIgnoreCase))
            {
                var headers = context.Response.Headers;
                headers.ContentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
                headers.XContentTypeOptions = "nosniff";
                headers["Referrer-Policy"] = "no-referrer";
            }
            return next(context);
        });
        app.MapRazorPages();
        var css = ReadCss();
        app.MapGet(CssPath, () => Results.Text(css, "text/css; charset=utf-8")).AllowAnonymous();
        return app;
    }

    private static string ReadCss()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("HashHub.Server.Console.console.css")
            ?? throw new InvalidOperationException("console.css is not embedded in the server assembly.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
