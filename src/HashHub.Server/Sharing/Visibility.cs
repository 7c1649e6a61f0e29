using HashHub.Server.Membership;
using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Sharing;

/// <summary>
/// Who may see a contribution: its own member and the admins always; every member when it is shared with all
/// (<see cref="ContributionVisibility.AllMembers"/>); members of one of its sharing groups when it is scoped to
/// groups; nobody else while it is held for review or after it was rejected. A signal, as a caller sees it,
/// consists of the contributions visible to it (see <see cref="Contributions.ProtoMapper"/>).
/// </summary>
internal static class Visibility
{
    /// <summary>The member whose view a read takes, or null for an admin (who sees everything).</summary>
    public static string? ViewerOf(Caller caller) => caller.IsAdmin ? null : caller.MemberId;

    /// <summary>The contributions of <paramref name="query"/> that <paramref name="viewer"/> may see (all of them for null).</summary>
    public static IQueryable<ContributionEntity> VisibleTo(this IQueryable<ContributionEntity> query, HubDbContext db, string? viewer) =>
        viewer is null
            ? query
            : query.Where(c => c.Visibility == ContributionVisibility.AllMembers || c.MemberId == viewer
                || (c.Visibility == ContributionVisibility.Groups && db.ContributionGroups.Any(g => g.ContributionId == c.Id
                    && db.SharingGroupMembers.Any(m => m.GroupId == g.GroupId && m.MemberId == viewer))));

    /// <summary>
    /// The same test as <see cref="VisibleTo"/> as a SQL condition on the contribution row <paramref name="alias"/>,
    /// for the hand-written sync query; the viewer is the parameter <c>@viewer</c>. The common case (shared with
    /// all members) is decided by the first comparison, on a column of the row itself.
    /// </summary>
    public static string SqlCondition(string alias) => $"""
        ({alias}."Visibility" = {(int)ContributionVisibility.AllMembers} OR {alias}."MemberId" = @viewer
         OR ({alias}."Visibility" = {(int)ContributionVisibility.Groups} AND EXISTS (
            SELECT 1 FROM contribution_groups cg JOIN sharing_group_members gm ON gm."GroupId" = cg."GroupId" AND gm."MemberId" = @viewer
            WHERE cg."ContributionId" = {alias}."Id")))
        """;

    /// <summary>Fills <see cref="ContributionEntity.SharingGroupIds"/> of the contributions not shared with all (one query, none when all are).</summary>
    public static async Task LoadGroupsAsync(HubDbContext db, IEnumerable<ContributionEntity> contributions, CancellationToken cancellationToken)
    {
        var scoped = contributions.Where(c => c.Visibility != ContributionVisibility.AllMembers).ToList();
        if (scoped.Count == 0)
        {
            return;
        }
        var ids = scoped.Select(c => c.Id).Distinct().ToList();
        var groups = (await db.ContributionGroups.AsNoTracking().Where(g => ids.Contains(g.ContributionId)).ToListAsync(cancellationToken))
            .ToLookup(g => g.ContributionId, g => g.GroupId);
        foreach (var c in scoped)
        {
            c.SharingGroupIds = [.. groups[c.Id].Order(StringComparer.Ordinal)];
        }
    }
}
