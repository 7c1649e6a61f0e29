using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Membership;

[Authorize(Policy = HubPolicies.Admin)]
internal sealed class MembersGrpcService(HubDbContext db, MemberAdministration admin, IOpenIddictApplicationManager applications) : Proto.Members.MembersBase
{
    private const int MaxReason = 2000;

    public override async Task<Proto.ListMembersResponse> ListMembers(Proto.ListMembersRequest request, ServerCallContext context)
    {
        var ct = context.CancellationToken;
        var members = await db.Members.AsNoTracking().OrderBy(m => m.CreatedAt).ThenBy(m => m.Name).ToListAsync(ct);
        var groups = (await db.SharingGroupMembers.AsNoTracking().ToListAsync(ct)).ToLookup(g => g.MemberId, g => g.GroupId);
        var clients = (await db.MemberClients.AsNoTracking().OrderBy(c => c.CreatedAt).ToListAsync(ct)).ToLookup(c => c.MemberId);
        var counts = await db.Contributions.AsNoTracking().GroupBy(c => c.MemberId).Select(g => new { g.Key, Count = g.LongCount() }).ToDictionaryAsync(g => g.Key, g => g.Count, ct);
        var response = new Proto.ListMembersResponse();
        foreach (var m in members)
        {
            var info = ToProto(m, counts.GetValueOrDefault(m.Id), groups[m.Id]);
            foreach (var c in clients[m.Id])
            {
                info.Credentials.Add(await ToProtoAsync(c, ct));
            }
            response.Members.Add(info);
        }
        return response;
    }

    public override async Task<Proto.MemberInfo> SetMemberStatus(Proto.SetMemberStatusRequest request, ServerCallContext context)
    {
        var status = request.Status switch
        {
            Proto.MemberStatus.Active => MemberStatus.Active,
            Proto.MemberStatus.Suspended => MemberStatus.Suspended,
            Proto.MemberStatus.Revoked => MemberStatus.Revoked,
            _ => throw new RequestValidationException("status", "must be ACTIVE (reinstate), SUSPENDED or REVOKED"),
        };
        if (string.IsNullOrWhiteSpace(request.Reason) || request.Reason.Length > MaxReason)
        {
            throw new RequestValidationException("reason", $"is required (at most {MaxReason} characters): it goes into the audit log");
        }
        Act(context);
        var member = await admin.SetStatusAsync(Required(request.MemberId, "member_id"), status, request.Reason, context.CancellationToken);
        return await ToProtoAsync(db, member, context.CancellationToken);
    }

    public override async Task<Proto.IssueCredentialResponse> IssueCredential(Proto.IssueCredentialRequest request, ServerCallContext context)
    {
        for (var i = 0; i < request.Scopes.Count; i++)
        {
            if (!HubScopes.All.Contains(request.Scopes[i]))
            {
                throw new RequestValidationException($"scopes[{i}]", $"must be one of {string.Join(", ", HubScopes.All)}");
            }
        }
        var publicKey = string.IsNullOrWhiteSpace(request.PublicKey) ? null : ClientKeys.Parse(request.PublicKey, "public_key");
        Act(context);
        var scopes = request.Scopes.Count == 0 ? HubScopes.All : request.Scopes.Distinct().ToArray();
        var issued = await admin.IssueCredentialAsync(Required(request.MemberId, "member_id"), scopes, context.CancellationToken, publicKey);
        var client = await db.MemberClients.AsNoTracking().SingleAsync(c => c.ClientId == issued.ClientId, context.CancellationToken);
        return new Proto.IssueCredentialResponse
        {
            ClientId = issued.ClientId,
            ClientSecret = issued.ClientSecret,
            Credential = await ToProtoAsync(client, context.CancellationToken),
        };
    }

    public override async Task<Proto.CredentialInfo> RevokeCredential(Proto.RevokeCredentialRequest request, ServerCallContext context)
    {
        if (request.Reason.Length > MaxReason)
        {
            throw new RequestValidationException("reason", $"is at most {MaxReason} characters");
        }
        Act(context);
        var client = await admin.RevokeCredentialAsync(Required(request.ClientId, "client_id"), request.Reason, context.CancellationToken);
        return await ToProtoAsync(client, context.CancellationToken);
    }

    public override async Task<Proto.IssueCredentialResponse> RotateCredential(Proto.RotateCredentialRequest request, ServerCallContext context)
    {
        var grace = request.GracePeriod?.ToTimeSpan() ?? TimeSpan.FromHours(24);
        if (grace < TimeSpan.Zero || grace > TimeSpan.FromDays(30))
        {
            throw new RequestValidationException("grace_period", "must be between 0 and 30 days");
        }
        var publicKey = string.IsNullOrWhiteSpace(request.PublicKey) ? null : ClientKeys.Parse(request.PublicKey, "public_key");
        Act(context);
        var issued = await admin.RotateCredentialAsync(Required(request.ClientId, "client_id"), grace, context.CancellationToken, publicKey);
        var client = await db.MemberClients.AsNoTracking().SingleAsync(c => c.ClientId == issued.ClientId, context.CancellationToken);
        return new Proto.IssueCredentialResponse
        {
            ClientId = issued.ClientId,
            ClientSecret = issued.ClientSecret,
            Credential = await ToProtoAsync(client, context.CancellationToken),
        };
    }

    /// <summary>The audit log names the admin that called, not the operator.</summary>
    private void Act(ServerCallContext context)
    {
        var caller = Caller.From(context);
        admin.Actor = (caller.MemberId, caller.ClientId);
    }

    private static string Required(string value, string field) =>
        string.IsNullOrEmpty(value) ? throw new RequestValidationException(field, "is required") : value;

    internal static async Task<Proto.MemberInfo> ToProtoAsync(HubDbContext db, Member member, CancellationToken ct) => ToProto(
        member,
        await db.Contributions.LongCountAsync(c => c.MemberId == member.Id, ct),
        await db.SharingGroupMembers.Where(g => g.MemberId == member.Id).Select(g => g.GroupId).ToListAsync(ct));

    private static Proto.MemberInfo ToProto(Member m, long contributions, IEnumerable<string> groups)
    {
        var info = new Proto.MemberInfo
        {
            Id = m.Id,
            Name = m.Name,
            Status = Contributions.ProtoMapper.ToProto(m.Status),
            IsAdmin = m.IsAdmin,
            CreatedAt = Timestamp.FromDateTimeOffset(m.CreatedAt),
            ContributionCount = contributions,
            OnProbation = m.OnProbation,
        };
        info.SharingGroupIds.AddRange(groups.Order(StringComparer.Ordinal));
        return info;
    }

    private async Task<Proto.CredentialInfo> ToProtoAsync(MemberClient c, CancellationToken ct)
    {
        var info = new Proto.CredentialInfo { ClientId = c.ClientId, CreatedAt = Timestamp.FromDateTimeOffset(c.CreatedAt) };
        if (c.RevokedAt is { } revoked)
        {
            info.RevokedAt = Timestamp.FromDateTimeOffset(revoked);
        }
        var application = await applications.FindByClientIdAsync(c.ClientId, ct);
        if (application is not null)
        {
            info.AuthenticationMethod = await applications.GetJsonWebKeySetAsync(application, ct) is { Keys.Count: > 0 } ? ClientKeys.PrivateKeyJwtMethod : ClientKeys.SecretMethod;
            info.Scopes.AddRange((await applications.GetPermissionsAsync(application, ct))
                .Where(p => p.StartsWith(Permissions.Prefixes.Scope, StringComparison.Ordinal))
                .Select(p => p[Permissions.Prefixes.Scope.Length..]));
        }
        return info;
    }
}
