using Google.Protobuf.WellKnownTypes;
using HashHub.Server.Membership;
using HashHub.Server.Signals;
using HashHub.Server.Storage;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Contributions;

/// <summary>Maps stored records to wire messages.</summary>
internal static class ProtoMapper
{
    /// <summary>
    /// The signal as a caller sees it: <paramref name="signal"/> holds only the contributions visible to the caller
    /// (all of them for an admin), and the status follows from them: active while one of them is. For an admin
    /// that is the signal's stored status; for a member outside a group it can be a tombstone while the signal
    /// stays active for the group. <paramref name="timestamps"/> shares Timestamp messages within one response.
    /// </summary>
    public static Proto.SignalRecord ToProto(SignalEntity signal, IReadOnlyDictionary<string, MemberSummary> members, Timestamps? timestamps = null)
    {
        timestamps ??= new Timestamps();
        var record = new Proto.SignalRecord
        {
            Id = signal.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Signal = new Proto.Signal { Type = SignalTypeMap.ToProto(signal.Type), Value = signal.Value },
            Status = signal.Contributions.Exists(c => c.Status == ContributionStatus.Active) ? Proto.SignalStatus.Active : Proto.SignalStatus.Retracted,
            CreatedAt = timestamps.Of(signal.CreatedAt),
            UpdatedAt = timestamps.Of(signal.UpdatedAt),
        };
        if (signal.Quality is { } quality)
        {
            record.Signal.Quality = quality;
        }
        string[]? single = null;
        SortedSet<string>? labels = null;
        foreach (var c in signal.Contributions)
        {
            record.Contributions.Add(ToProto(c, members, timestamps));
            if (c.Status != ContributionStatus.Active)
            {
                continue;
            }
            // A contribution's labels are sorted and distinct already; only several need merging.
            if (single is null && labels is null)
            {
                single = c.Labels;
            }
            else
            {
                labels ??= new SortedSet<string>(single!, StringComparer.Ordinal);
                labels.UnionWith(c.Labels);
            }
        }
        if (labels is not null)
        {
            record.Labels.AddRange(labels);
        }
        else if (single is not null)
        {
            record.Labels.AddRange(single);
        }
        return record;
    }

    public static Proto.Contribution ToProto(ContributionEntity c, IReadOnlyDictionary<string, MemberSummary> members, Timestamps? timestamps = null)
    {
        timestamps ??= new Timestamps();
        var member = members.GetValueOrDefault(c.MemberId);
        var message = new Proto.Contribution
        {
            Id = c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Status = c.Status == ContributionStatus.Active ? Proto.ContributionStatus.Active : Proto.ContributionStatus.Retracted,
            UpdatedAt = timestamps.Of(c.UpdatedAt),
            Provenance = new Proto.Provenance
            {
                MemberId = c.MemberId,
                MemberName = member?.Name ?? string.Empty,
                MemberStatus = ToProto(member?.Status ?? MemberStatus.Active),
                ContributedAt = timestamps.Of(c.ContributedAt),
                SourceKind = (Proto.SourceKind)c.SourceKind,
                IncidentId = c.IncidentId ?? string.Empty,
                CaseReference = c.CaseReference ?? string.Empty,
                Note = c.Note ?? string.Empty,
            },
        };
        message.Labels.AddRange(c.Labels);
        message.SharingGroupIds.AddRange(c.SharingGroupIds);
        message.Hold = c.Visibility switch
        {
            ContributionVisibility.Held => Proto.HoldState.Held,
            ContributionVisibility.Rejected => Proto.HoldState.Rejected,
            _ => Proto.HoldState.Unspecified,
        };
        if (c.RetractedAt is { } retractedAt)
        {
            message.RetractedAt = timestamps.Of(retractedAt);
        }
        return message;
    }

    /// <summary>
    /// Timestamp messages shared by value while one response is built: the rows of a batch share their times, so
    /// a page of changes needs a handful of Timestamps instead of four per change. The messages are only
    /// serialised, never changed, so sharing them is safe.
    /// </summary>
    internal sealed class Timestamps
    {
        private readonly Dictionary<DateTimeOffset, Timestamp> _cache = [];

        public Timestamp Of(DateTimeOffset value)
        {
            if (!_cache.TryGetValue(value, out var timestamp))
            {
                timestamp = Timestamp.FromDateTimeOffset(value);
                if (_cache.Count < 4096)
                {
                    _cache[value] = timestamp;
                }
            }
            return timestamp;
        }
    }

    public static Proto.MemberStatus ToProto(MemberStatus status) => status switch
    {
        MemberStatus.Applicant => Proto.MemberStatus.Applicant,
        MemberStatus.Active => Proto.MemberStatus.Active,
        MemberStatus.Suspended => Proto.MemberStatus.Suspended,
        _ => Proto.MemberStatus.Revoked,
    };

    public static Proto.ChangeKind ToProto(ChangeKind kind) => kind switch
    {
        ChangeKind.Created => Proto.ChangeKind.Created,
        ChangeKind.Updated => Proto.ChangeKind.Updated,
        ChangeKind.Retracted => Proto.ChangeKind.Retracted,
        _ => Proto.ChangeKind.Unspecified,
    };
}
