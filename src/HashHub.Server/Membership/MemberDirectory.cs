using System.Collections.Concurrent;
using HashHub.Server.Storage;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Membership;

/// <summary>What readers see of a contributing member: its name and its status now.</summary>
public sealed record MemberSummary(string Name, MemberStatus Status);

/// <summary>
/// Names and statuses of members, cached briefly: every change and signal read names its contributors. A status
/// change on this node drops the entry at once; entries expire after a few seconds, so a change made on another
/// hub node shows within that time.
/// </summary>
internal sealed class MemberDirectory(TimeProvider time)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (MemberSummary Summary, DateTimeOffset LoadedAt)> _members = new(StringComparer.Ordinal);

    /// <summary>The members that contributed to <paramref name="signals"/>.</summary>
    public Task<IReadOnlyDictionary<string, MemberSummary>> ForAsync(HubDbContext db, IEnumerable<SignalEntity> signals, CancellationToken cancellationToken) =>
        ForAsync(db, signals.SelectMany(s => s.Contributions).Select(c => c.MemberId), cancellationToken);

    public async Task<IReadOnlyDictionary<string, MemberSummary>> ForAsync(HubDbContext db, IEnumerable<string> memberIds, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var result = new Dictionary<string, MemberSummary>(StringComparer.Ordinal);
        var missing = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in memberIds)
        {
            if (result.ContainsKey(id) || missing.Contains(id))
            {
                continue;
            }
            if (_members.TryGetValue(id, out var entry) && now - entry.LoadedAt < Lifetime)
            {
                result[id] = entry.Summary;
            }
            else
            {
                missing.Add(id);
            }
        }
        if (missing.Count > 0)
        {
            var ids = missing.ToList();
            foreach (var m in await db.Members.AsNoTracking().Where(m => ids.Contains(m.Id)).Select(m => new { m.Id, m.Name, m.Status }).ToListAsync(cancellationToken))
            {
                var summary = new MemberSummary(m.Name, m.Status);
                _members[m.Id] = (summary, now);
                result[m.Id] = summary;
            }
        }
        return result;
    }

    /// <summary>Forgets a member's cached entry (after a change of name or status).</summary>
    public void Invalidate(string memberId) => _members.TryRemove(memberId, out _);
}
