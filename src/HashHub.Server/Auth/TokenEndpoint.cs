using System.Security.Claims;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.EntityFrameworkCore;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace HashHub.Server.Auth;

/// <summary>
/// The OAuth2 token endpoint (RFC 6749 section 4.4, client credentials). OpenIddict has already authenticated the
/// client and checked its grant and scope permissions when this runs; here the client is tied to its member.
/// </summary>
internal static class TokenEndpoint
{
    public const string Path = "/connect/token";

    public static async Task<IResult> HandleAsync(HttpContext http, HubDbContext db, IOpenIddictApplicationManager applications, TimeProvider time)
    {
        var request = http.GetOpenIddictServerRequest()
            ?? throw new InvalidOperationException("The OpenIddict server request cannot be retrieved.");
        if (!request.IsClientCredentialsGrantType())
        {
            return Reject(OpenIddictConstants.Errors.UnsupportedGrantType, "Only the client_credentials grant is supported.");
        }

        var client = await db.MemberClients.AsNoTracking().Include(c => c.Member)
            .SingleOrDefaultAsync(c => c.ClientId == request.ClientId, http.RequestAborted);
        if (client?.Member is null || client.RevokedAt <= time.GetUtcNow())
        {
            return Reject(OpenIddictConstants.Errors.InvalidClient, "The client is not a credential of any member, or it was revoked.");
        }
        if (client.Member.Status != MemberStatus.Active)
        {
            return Reject(OpenIddictConstants.Errors.InvalidClient, $"The member is {client.Member.Status.ToString().ToLowerInvariant()}; its credentials do not work.");
        }

        if (!string.IsNullOrEmpty(request.ClientAssertion) && await ReplayedAsync(db, client.ClientId, request.ClientAssertion, time, http.RequestAborted) is { } problem)
        {
            return Reject(OpenIddictConstants.Errors.InvalidClient, problem);
        }

        var identity = new ClaimsIdentity(TokenValidationParameters.DefaultAuthenticationType, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, client.ClientId);
        identity.SetClaim(Claims.Name, client.Member.Name);
        identity.SetClaim(Caller.MemberIdClaim, client.MemberId);
        if (client.Member.IsAdmin)
        {
            identity.AddClaim(new Claim(Claims.Role, Caller.AdminRole));
        }
        // Scopes the client asked for (OpenIddict already checked it holds them), or all it holds when it asked none.
        var requested = request.GetScopes();
        if (requested.IsEmpty)
        {
            var application = await applications.FindByClientIdAsync(client.ClientId, http.RequestAborted);
            var permissions = application is null ? [] : await applications.GetPermissionsAsync(application, http.RequestAborted);
            requested = [.. permissions.Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
                .Select(p => p[Permissions.Prefixes.Scope.Length..])];
        }
        identity.SetScopes(requested);
        identity.SetDestinations(_ => [Destinations.AccessToken]);
        return Results.SignIn(new ClaimsPrincipal(identity), authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    /// <summary>
    /// OpenIddict has checked the assertion's signature, issuer, subject, audience and lifetime; with token storage
    /// off it does not remember assertions, so the hub keeps each jti until the assertion expires and refuses a
    /// second use (RFC 7523 section 3, item 7). The primary key makes two concurrent uses fail one of them.
    /// </summary>
    private static async Task<string?> ReplayedAsync(HubDbContext db, string clientId, string assertion, TimeProvider time, CancellationToken ct)
    {
        var jwt = new Microsoft.IdentityModel.JsonWebTokens.JsonWebToken(assertion);
        var jti = jwt.Id;
        if (string.IsNullOrEmpty(jti) || jti.Length > 200)
        {
            return "The client assertion needs a jti claim (at most 200 characters) that is never used twice.";
        }
        var now = time.GetUtcNow();
        await db.UsedClientAssertions.Where(a => a.ClientId == clientId && a.ExpiresAt < now).ExecuteDeleteAsync(ct);
        db.UsedClientAssertions.Add(new UsedClientAssertion { ClientId = clientId, Jti = jti, ExpiresAt = new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero) });
        try
        {
            await db.SaveChangesAsync(ct);
            return null;
        }
        catch (DbUpdateException)
        {
            db.ChangeTracker.Clear();
            return "The client assertion was already used (same jti): sign a new one for every token request.";
        }
    }

    private static IResult Reject(string error, string description) => Results.Forbid(
        new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }),
        [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
