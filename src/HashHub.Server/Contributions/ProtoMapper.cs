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
    /// stays active for the group.
    /// </summary>
    public static Proto.SignalRecord ToProto(SignalEntity signal, IReadOnlyDictionary<string, MemberSummary> members)
    {
        var record = new Proto.SignalRecord
        {
            Id = signal.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Signal = new Proto.Signal { Type = SignalTypeMap.ToProto(signal.Type), Value = signal.Value },
            Status = signal.Contributions.Exists(c => c.Status == ContributionStatus.Active) ? Proto.SignalStatus.Active : Proto.SignalStatus.Retracted,
            CreatedAt = Timestamp.FromDateTimeOffset(signal.CreatedAt),
            UpdatedAt = Timestamp.FromDateTimeOffset(signal.UpdatedAt),
        };
        if (signal.Quality is { } quality)
        {
            record.Signal.Quality = quality;
        }
        var labels = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var c in signal.Contributions)
        {
            record.Contributions.Add(ToProto(c, members));
            if (c.Status == ContributionStatus.Active)
            {
                labels.UnionWith(c.Labels);
            }
        }
        record.Labels.AddRange(labels);
        return record;
    }

    public static Proto.Contribution ToProto(ContributionEntity c, IReadOnlyDictionary<string, MemberSummary> members)
    {
        var message = new Proto.Contribution
        {
            Id = c.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Status = c.Status == ContributionStatus.Active ? Proto.ContributionStatus.Active : Proto.ContributionStatus.Retracted,
            UpdatedAt = Timestamp.FromDateTimeOffset(c.UpdatedAt),
            Provenance = new Proto.Provenance
            {
                MemberId = c.MemberId,
                MemberName = members.GetValueOrDefault(c.MemberId)?.Name ?? string.Empty,
                MemberStatus = ToProto(members.GetValueOrDefault(c.MemberId)?.Status ?? MemberStatus.Active),
                ContributedAt = Timestamp.FromDateTimeOffset(c.ContributedAt),
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
            message.RetractedAt = Timestamp.FromDateTimeOffset(retractedAt);
        }
        return message;
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
