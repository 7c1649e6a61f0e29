using HashHub.Server.Membership;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;

namespace HashHub.Server.Auth;

/// <summary>A call needs an active member (checked on every call, so suspension takes hold at once) and a scope or the admin role.</summary>
internal sealed record MemberRequirement(string? Scope, bool AdminOnly) : IAuthorizationRequirement;

internal sealed class MemberRequirementHandler(HubDbContext db, TimeProvider time) : AuthorizationHandler<MemberRequirement>
{
    // Every call of the hub runs it (CompiledQuery).
    private static readonly CompiledQuery<Func<HubDbContext, string, string, DateTimeOffset, Task<bool>>> IsActiveCredential = new(() => EF.CompileAsyncQuery(
        (HubDbContext db, string clientId, string memberId, DateTimeOffset now) => db.MemberClients.AsNoTracking()
            .Any(c => c.ClientId == clientId && c.MemberId == memberId && (c.RevokedAt == null || c.RevokedAt > now) && c.Member!.Status == MemberStatus.Active)));

    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, MemberRequirement requirement)
    {
        var memberId = context.User.FindFirst(Caller.MemberIdClaim)?.Value;
        var clientId = context.User.FindFirst(OpenIddictConstants.Claims.Subject)?.Value;
        if (memberId is null || clientId is null)
        {
            return;
        }
        var isAdmin = context.User.IsInRole(Caller.AdminRole);
        if (requirement.AdminOnly && !isAdmin)
        {
            return;
        }
        if (requirement.Scope is { } scope && !isAdmin && !context.User.HasScope(scope))
        {
            return;
        }
        // A rotated credential works until its RevokedAt; a revoked one has RevokedAt in the past.
        var now = time.GetUtcNow();
        if (await IsActiveCredential.For(db)(db, clientId, memberId, now))
        {
            context.Succeed(requirement);
        }
    }
}
