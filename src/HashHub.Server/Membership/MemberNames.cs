using System.Collections.Concurrent;
using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Membership;

/// <summary>
/// Display names of members, cached: every change and signal read names its contributors, and names change
/// rarely. A name not yet cached is read from the database.
/// </summary>
internal sealed class MemberNames
{
    private readonly ConcurrentDictionary<string, string> _names = new(StringComparer.Ordinal);

    /// <summary>The display names of the members that contributed to <paramref name="signals"/>.</summary>
    public async Task<IReadOnlyDictionary<string, string>> ForAsync(HubDbContext db, IEnumerable<SignalEntity> signals, CancellationToken cancellationToken)
    {
        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var signal in signals)
        {
            foreach (var c in signal.Contributions)
            {
                if (!_names.ContainsKey(c.MemberId))
                {
                    missing.Add(c.MemberId);
                }
            }
        }
        if (missing.Count > 0)
        {
            var ids = missing.ToList();
            foreach (var m in await db.Members.AsNoTracking().Where(m => ids.Contains(m.Id)).Select(m => new { m.Id, m.Name }).ToListAsync(cancellationToken))
            {
                _names[m.Id] = m.Name;
            }
        }
        return _names;
    }

    /// <summary>Forgets a member's cached name (after a rename).</summary>
    public void Invalidate(string memberId) => _names.TryRemove(memberId, out _);
}
