using System.Security.Claims;
using Grpc.Core;

namespace HashHub.Server.Membership;

/// <summary>The authenticated member behind a call. Comes from the access token, never from the request body.</summary>
public sealed record Caller(string MemberId, string ClientId, bool IsAdmin)
{
    public const string MemberIdClaim = "hashhub_member";
    public const string AdminRole = "admin";

    public static Caller From(ServerCallContext context) => From(context.GetHttpContext().User);

    public static Caller From(ClaimsPrincipal user)
    {
        var memberId = user.FindFirst(MemberIdClaim)?.Value
            ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "The access token names no member."));
        var clientId = user.FindFirst(OpenIddict.Abstractions.OpenIddictConstants.Claims.Subject)?.Value ?? string.Empty;
        return new Caller(memberId, clientId, user.IsInRole(AdminRole));
    }
}
