using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Membership;

[Authorize(Policy = HubPolicies.Admin)]
internal sealed class MembersGrpcService(HubDbContext db, MemberAdministration admin) : Proto.Members.MembersBase
{
    private const int MaxReason = 2000;

    public override async Task<Proto.ListMembersResponse> ListMembers(Proto.ListMembersRequest request, ServerCallContext context)
    {
        var response = new Proto.ListMembersResponse();
        foreach (var overview in await admin.ListAsync(memberId: null, context.CancellationToken))
        {
            var info = ToProto(overview.Member, overview.ContributionCount, overview.Groups.Select(g => g.Id));
            info.Credentials.AddRange(overview.Credentials.Select(ToProto));
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

    private async Task<Proto.CredentialInfo> ToProtoAsync(MemberClient c, CancellationToken ct) => ToProto(await admin.DescribeAsync(c, ct));

    private static Proto.CredentialInfo ToProto(CredentialOverview credential)
    {
        var c = credential.Client;
        var info = new Proto.CredentialInfo { ClientId = c.ClientId, CreatedAt = Timestamp.FromDateTimeOffset(c.CreatedAt), AuthenticationMethod = credential.AuthenticationMethod };
        if (c.RevokedAt is { } revoked)
        {
            info.RevokedAt = Timestamp.FromDateTimeOffset(revoked);
        }
        info.Scopes.AddRange(credential.Scopes);
        return info;
    }
}
