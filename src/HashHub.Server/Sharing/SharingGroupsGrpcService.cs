using System.Security.Cryptography;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Audit;
using HashHub.Server.Auth;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Sharing;

/// <summary>
/// Sharing groups: admins create them and manage their members (audited); members list their own. A change of a
/// member's groups bumps its visibility epoch, so its earlier sync cursors answer "resync required".
/// </summary>
internal sealed class SharingGroupsGrpcService(HubDbContext db, ChangeLog changeLog, TimeProvider time) : Proto.SharingGroups.SharingGroupsBase
{
    private const int MaxReason = 2000;

    [Authorize(Policy = HubPolicies.Admin)]
    public override async Task<Proto.SharingGroup> CreateSharingGroup(Proto.CreateSharingGroupRequest request, ServerCallContext context)
    {
        var name = request.Name.Trim();
        if (name.Length is 0 or > 200)
        {
            throw new RequestValidationException("name", "is required, at most 200 characters");
        }
        if (request.Description.Length > 2000)
        {
            throw new RequestValidationException("description", "is at most 2,000 characters");
        }
        var caller = Caller.From(context);
        var group = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            if (await db.SharingGroups.AnyAsync(g => g.Name == name, ct))
            {
                throw new RequestValidationException("name", $"a sharing group named '{name}' already exists");
            }
            var group = new SharingGroupEntity
            {
                Id = "grp_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)),
                Name = name,
                Description = request.Description,
                CreatedAt = time.GetUtcNow(),
            };
            db.SharingGroups.Add(group);
            batch.Audit(new AuditRecord(caller.MemberId, caller.ClientId, "sharing_group.create", group.Id, new { group.Name }));
            return group;
        }, context.CancellationToken);
        return ToProto(group, [], showMembers: true);
    }

    [Authorize(Policy = HubPolicies.Member)]
    public override async Task<Proto.ListSharingGroupsResponse> ListSharingGroups(Proto.ListSharingGroupsRequest request, ServerCallContext context)
    {
        var caller = Caller.From(context);
        var ct = context.CancellationToken;
        var groups = caller.IsAdmin
            ? await db.SharingGroups.AsNoTracking().OrderBy(g => g.Name).ToListAsync(ct)
            : await db.SharingGroups.AsNoTracking()
                .Where(g => db.SharingGroupMembers.Any(m => m.GroupId == g.Id && m.MemberId == caller.MemberId)).OrderBy(g => g.Name).ToListAsync(ct);
        var ids = groups.Select(g => g.Id).ToList();
        var members = caller.IsAdmin
            ? (await db.SharingGroupMembers.AsNoTracking().Where(m => ids.Contains(m.GroupId)).ToListAsync(ct)).ToLookup(m => m.GroupId, m => m.MemberId)
            : null;
        var response = new Proto.ListSharingGroupsResponse();
        // Members learn which groups they are in, not who else is: the membership list is the admins' business.
        response.Groups.AddRange(groups.Select(g => ToProto(g, members?[g.Id] ?? [], showMembers: caller.IsAdmin)));
        return response;
    }

    [Authorize(Policy = HubPolicies.Admin)]
    public override Task<Proto.SharingGroup> AddSharingGroupMember(Proto.SharingGroupMemberRequest request, ServerCallContext context) =>
        ChangeMembershipAsync(request, add: true, context);

    [Authorize(Policy = HubPolicies.Admin)]
    public override Task<Proto.SharingGroup> RemoveSharingGroupMember(Proto.SharingGroupMemberRequest request, ServerCallContext context) =>
        ChangeMembershipAsync(request, add: false, context);

    private async Task<Proto.SharingGroup> ChangeMembershipAsync(Proto.SharingGroupMemberRequest request, bool add, ServerCallContext context)
    {
        Required(request.GroupId, "group_id");
        Required(request.MemberId, "member_id");
        if (request.Reason.Length > MaxReason)
        {
            throw new RequestValidationException("reason", $"is at most {MaxReason} characters");
        }
        var caller = Caller.From(context);
        var group = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            var group = await db.SharingGroups.SingleOrDefaultAsync(g => g.Id == request.GroupId, ct)
                ?? throw new NotFoundException($"No sharing group {request.GroupId}.");
            var member = await db.Members.SingleOrDefaultAsync(m => m.Id == request.MemberId, ct)
                ?? throw new NotFoundException($"No member {request.MemberId}.");
            var existing = await db.SharingGroupMembers.SingleOrDefaultAsync(m => m.GroupId == group.Id && m.MemberId == member.Id, ct);
            if (add && existing is null)
            {
                if (member.Status == MemberStatus.Revoked)
                {
                    throw new PreconditionFailedException($"Member {member.Id} is revoked.");
                }
                db.SharingGroupMembers.Add(new SharingGroupMember { GroupId = group.Id, MemberId = member.Id, AddedAt = time.GetUtcNow() });
            }
            else if (!add && existing is not null)
            {
                db.SharingGroupMembers.Remove(existing);
            }
            else
            {
                return group; // Already so: nothing changes, nothing to audit, cursors stay valid.
            }
            // What the member may see changed without a change in the log: its cursors must not resume.
            member.VisibilityEpoch++;
            batch.Audit(new AuditRecord(caller.MemberId, caller.ClientId, add ? "sharing_group.add_member" : "sharing_group.remove_member", group.Id,
                new { MemberId = member.Id, Reason = request.Reason }));
            return group;
        }, context.CancellationToken);
        var memberIds = await db.SharingGroupMembers.AsNoTracking().Where(m => m.GroupId == group.Id).Select(m => m.MemberId).ToListAsync(context.CancellationToken);
        return ToProto(group, memberIds, showMembers: true);
    }

    private static void Required(string value, string field)
    {
        if (string.IsNullOrEmpty(value))
        {
            throw new RequestValidationException(field, "is required");
        }
    }

    private static Proto.SharingGroup ToProto(SharingGroupEntity g, IEnumerable<string> memberIds, bool showMembers)
    {
        var message = new Proto.SharingGroup { Id = g.Id, Name = g.Name, Description = g.Description, CreatedAt = Timestamp.FromDateTimeOffset(g.CreatedAt) };
        if (showMembers)
        {
            message.MemberIds.AddRange(memberIds.Order(StringComparer.Ordinal));
        }
        return message;
    }
}
