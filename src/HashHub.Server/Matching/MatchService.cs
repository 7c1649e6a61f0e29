using HashHub.Core.Matching;
using HashHub.Core.Signals;
using HashHub.Server.Contributions;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Sharing;
using HashHub.Server.Signals;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.EntityFrameworkCore;
using Proto = HashHub.Protos.V1;
using SignalMatch = HashHub.Core.Matching.SignalMatch;

namespace HashHub.Server.Matching;

/// <summary>
/// Hub-side matching for members that do not keep the list: the member hashes its content locally and sends
/// the hashes; the node's <see cref="HubMatchIndex"/> finds the candidates and the answer carries each signal as
/// the caller may see it, with distance and confidence (<see cref="MatchConfidence"/>, the SDK's too).
/// </summary>
internal sealed class MatchService(HubDbContext db, HubMatchIndex index, MemberDirectory members)
{
    public const int MaxSignals = 64;
    public const int MaxMatches = 100;

    /// <summary>How long a Match call waits for the index to apply changes committed before it arrived.</summary>
    private static readonly TimeSpan CatchUpWait = TimeSpan.FromSeconds(2);

    public async Task<Proto.MatchResponse> MatchAsync(Caller caller, Proto.MatchRequest request, CancellationToken cancellationToken)
    {
        var queries = Validate(request);
        if (!index.IsReady)
        {
            throw new HubUnavailableException("This hub node is still loading its match index; retry shortly.");
        }
        // Read-your-writes: what was committed before this call (a contribution the member was just acknowledged)
        // is matched, unless the index is more than CatchUpWait behind, in which case it answers from what it holds.
        var head = await db.Changes.MaxAsync(c => (long?)c.Seq, cancellationToken) ?? 0;
        if (index.Position < head)
        {
            await index.WaitForAsync(head, CatchUpWait, cancellationToken);
        }

        // Closest hit per signal, over every query hash.
        var best = new Dictionary<long, (int Distance, int QueryIndex, SignalType Type)>();
        var hits = new List<SignalMatch>();
        for (var i = 0; i < queries.Count; i++)
        {
            var (type, value, threshold) = queries[i];
            hits.Clear();
            index.Query(type, value, threshold, hits);
            foreach (var hit in hits)
            {
                if (!best.TryGetValue(hit.Id, out var known) || hit.Distance < known.Distance)
                {
                    best[hit.Id] = (hit.Distance, i, type);
                }
            }
        }
        if (best.Count == 0)
        {
            return new Proto.MatchResponse();
        }

        var ids = best.OrderBy(b => b.Value.Distance).ThenBy(b => b.Key).Take(MaxMatches).Select(b => b.Key).ToList();
        var signals = await LoadVisibleAsync(caller, ids, cancellationToken);
        var summaries = await members.ForAsync(db, signals.Values, cancellationToken);
        var response = new Proto.MatchResponse();
        foreach (var id in ids)
        {
            // The index may lag a retraction by moments: the stored state decides, as the caller sees it (a
            // signal whose visible contributions are all retracted is no match for this caller).
            if (!signals.TryGetValue(id, out var signal) || !signal.Contributions.Exists(c => c.Status == ContributionStatus.Active))
            {
                continue;
            }
            var (distance, queryIndex, type) = best[id];
            var backers = signal.Contributions
                .Where(c => c.Status == ContributionStatus.Active
                    && (summaries.GetValueOrDefault(c.MemberId)?.Status ?? MemberStatus.Active) == MemberStatus.Active)
                .Select(c => c.MemberId).Distinct(StringComparer.Ordinal).Count();
            response.Matches.Add(new Proto.SignalMatch
            {
                QueryIndex = queryIndex,
                Distance = distance,
                Confidence = MatchConfidence.Compute(type, distance, backers),
                Signal = ProtoMapper.ToProto(signal, summaries),
            });
        }
        return response;
    }

    /// <summary>
    /// The signals with the contributions the caller may see (<see cref="Visibility"/>); a signal with none is left
    /// out, so a hash shared within groups the caller is not in, or held for review, never matches for it.
    /// </summary>
    private async Task<Dictionary<long, SignalEntity>> LoadVisibleAsync(Caller caller, IReadOnlyCollection<long> ids, CancellationToken cancellationToken)
    {
        var signals = await db.Signals.AsNoTracking().Where(s => ids.Contains(s.Id)).ToDictionaryAsync(s => s.Id, cancellationToken);
        var contributions = await db.Contributions.AsNoTracking().Where(c => ids.Contains(c.SignalId))
            .VisibleTo(db, Visibility.ViewerOf(caller)).OrderBy(c => c.Id).ToListAsync(cancellationToken);
        foreach (var c in contributions)
        {
            signals[c.SignalId].Contributions.Add(c);
        }
        await Visibility.LoadGroupsAsync(db, contributions, cancellationToken);
        return signals.Where(p => p.Value.Contributions.Count > 0).ToDictionary(p => p.Key, p => p.Value);
    }

    private static List<(SignalType Type, string Value, int Threshold)> Validate(Proto.MatchRequest request)
    {
        var violations = new List<FieldViolation>();
        if (request.Signals.Count == 0)
        {
            violations.Add(new("signals", "must hold at least one hash of the content"));
        }
        else if (request.Signals.Count > MaxSignals)
        {
            violations.Add(new("signals", $"holds {request.Signals.Count} hashes; the most in one call is {MaxSignals}"));
        }
        var queries = new List<(SignalType, string, int)>(request.Signals.Count);
        for (var i = 0; i < request.Signals.Count && i < MaxSignals; i++)
        {
            var signal = request.Signals[i];
            if (SignalTypeMap.ToCore(signal.Type) is not { } type)
            {
                violations.Add(new($"signals[{i}].type", $"must be one of {SignalTypeMap.Accepted}"));
                continue;
            }
            if (!type.TryNormalize(signal.Value, out var value, out var error))
            {
                violations.Add(new($"signals[{i}].value", $"{type.Name} value {error}"));
                continue;
            }
            var threshold = type.DefaultMatchThreshold;
            if (request.HasMaxDistance && type.DefaultMatchThreshold > 0)
            {
                // Closeness reaches 0 at twice the default threshold plus one: farther is no match at all.
                var most = (2 * (type.DefaultMatchThreshold + 1)) - 1;
                if (request.MaxDistance < 0 || request.MaxDistance > most)
                {
                    violations.Add(new("max_distance", $"is {request.MaxDistance}; for {type.Name} it must be 0 to {most}"));
                    continue;
                }
                threshold = request.MaxDistance;
            }
            queries.Add((type, value, threshold));
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }
        return queries;
    }
}
