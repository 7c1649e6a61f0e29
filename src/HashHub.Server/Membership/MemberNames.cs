using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Membership;

internal static class MemberNames
{
    /// <summary>The display names of the members that contributed to <paramref name="signals"/>.</summary>
    public static async Task<Dictionary<string, string>> ForAsync(HubDbContext db, IEnumerable<SignalEntity> signals, CancellationToken cancellationToken)
    {
        var ids = signals.SelectMany(s => s.Contributions).Select(c => c.MemberId).Distinct().ToList();
        if (ids.Count == 0)
        {
            return [];
        }
        return await db.Members.AsNoTracking().Where(m => ids.Contains(m.Id)).ToDictionaryAsync(m => m.Id, m => m.Name, cancellationToken);
    }
}
