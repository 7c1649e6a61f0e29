using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Contributions;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Sharing;
using HashHub.Server.Signals;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Sync;

[Authorize(Policy = Auth.HubPolicies.Read)]
internal sealed partial class SyncGrpcService(
    HubDbContext db, HubEpoch epoch, ChangeNotifier notifier, MemberDirectory members, IOptions<HubOptions> options, TimeProvider time, ILogger<SyncGrpcService> logger)
    : Proto.Sync.SyncBase
{
    public override async Task<Proto.ReadChangesResponse> ReadChanges(Proto.ReadChangesRequest request, ServerCallContext context)
    {
        var caller = Caller.From(context);
        var view = await ViewOfAsync(caller, context.CancellationToken);
        var cursor = Cursor.Parse(request.Cursor, epoch.Value, view, "cursor");
        var pageSize = request.PageSize switch
        {
            0 => options.Value.DefaultPageSize,
            < 0 => throw new RequestValidationException("page_size", "must not be negative"),
            var n when n > options.Value.MaxPageSize => throw new RequestValidationException("page_size", $"is {n}; the most is {options.Value.MaxPageSize}"),
            var n => n,
        };
        var types = ParseTypes(request.SignalTypes, "signal_types");
        var page = await new ChangeReader(db).ReadAsync(cursor.Seq, pageSize, types, Visibility.ViewerOf(caller), context.CancellationToken);
        var response = new Proto.ReadChangesResponse
        {
            NextCursor = new Cursor(epoch.Value, page.NextSeq, view).Encode(),
            HasMore = page.HasMore,
            Head = ToProto(page.Head),
        };
        response.Changes.AddRange(await ToProtoAsync(page, view, context.CancellationToken));
        return response;
    }

    public override async Task Subscribe(Proto.SubscribeRequest request, IServerStreamWriter<Proto.SubscribeResponse> responseStream, ServerCallContext context)
    {
        var caller = Caller.From(context);
        var ct = context.CancellationToken;
        var view = await ViewOfAsync(caller, ct);
        var cursor = Cursor.Parse(request.Cursor, epoch.Value, view, "cursor");
        var types = ParseTypes(request.SignalTypes, "signal_types");
        var viewer = Visibility.ViewerOf(caller);
        var reader = new ChangeReader(db);
        var seq = cursor.Seq;
        var caughtUpSent = false;
        var lastSent = time.GetUtcNow();
        LogSubscribed(logger, caller.MemberId, seq);

        while (!ct.IsCancellationRequested)
        {
            // Take the wake-up task before reading, so a commit between the read and the wait is not missed.
            var woken = notifier.NextAsync();
            // What the member may see can change while it listens (a sharing group joined or left): the stream
            // then ends with "resync required", as its cursor would on the next call.
            if (await ViewOfAsync(caller, ct) != view)
            {
                throw Cursor.ViewChanged();
            }
            var page = await reader.ReadAsync(seq, options.Value.MaxPageSize, types, viewer, ct);
            foreach (var change in await ToProtoAsync(page, view, ct))
            {
                await responseStream.WriteAsync(new Proto.SubscribeResponse { Change = change }, ct);
            }
            seq = page.NextSeq;
            if (page.HasMore)
            {
                continue;
            }
            var now = time.GetUtcNow();
            if (!caughtUpSent || page.Changes.Count > 0 || now - lastSent >= options.Value.HeartbeatInterval)
            {
                await responseStream.WriteAsync(new Proto.SubscribeResponse { CaughtUp = new Proto.CaughtUp { Cursor = new Cursor(epoch.Value, seq, view).Encode(), Head = ToProto(page.Head) } }, ct);
                caughtUpSent = true;
                lastSent = now;
            }
            try
            {
                await woken.WaitAsync(options.Value.SubscriptionPollInterval, time, ct);
            }
            catch (TimeoutException)
            {
                // Poll: another hub node may have committed.
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
        }
    }

    public override async Task<Proto.LogHead> GetLogHead(Proto.GetLogHeadRequest request, ServerCallContext context)
    {
        var view = await ViewOfAsync(Caller.From(context), context.CancellationToken);
        var cursor = Cursor.Parse(request.Cursor, epoch.Value, view, "cursor");
        return ToProto(await new ChangeReader(db).ReadHeadAsync(cursor.Seq, context.CancellationToken));
    }

    internal static Proto.LogHead ToProto(LogPosition head)
    {
        var message = new Proto.LogHead { ChangesAfterCursor = head.ChangesAfterCursor };
        if (head.HeadCommittedAt is { } headAt)
        {
            message.HeadCommittedAt = Timestamp.FromDateTimeOffset(headAt);
        }
        if (head.CursorCommittedAt is { } cursorAt)
        {
            message.CursorCommittedAt = Timestamp.FromDateTimeOffset(cursorAt);
        }
        return message;
    }

    /// <summary>
    /// The page as the caller sees it: a change whose signal has no contribution visible to the caller is left out
    /// (the page holds only visible contributions), and one whose visible contributions are all retracted is a
    /// tombstone (kind RETRACTED) for the caller, whatever the signal's state for others.
    /// </summary>
    private async Task<List<Proto.Change>> ToProtoAsync(ChangePage page, int view, CancellationToken ct)
    {
        var names = await members.ForAsync(db, page.Signals.Values, ct);
        var timestamps = new ProtoMapper.Timestamps();
        var records = new Dictionary<long, Proto.SignalRecord>(page.Signals.Count);
        foreach (var (id, signal) in page.Signals)
        {
            if (signal.Contributions.Count > 0)
            {
                records[id] = ProtoMapper.ToProto(signal, names, timestamps);
            }
        }
        var changes = new List<Proto.Change>(page.Changes.Count);
        foreach (var c in page.Changes)
        {
            if (!records.TryGetValue(c.SignalId, out var record))
            {
                continue;
            }
            changes.Add(new Proto.Change
            {
                Cursor = new Cursor(epoch.Value, c.Seq, view).Encode(),
                // Retracted for the caller while still active for others (the contributions it may see are all
                // retracted): for this caller the change is a tombstone, whatever the log calls it.
                Kind = record.Status == Proto.SignalStatus.Retracted && page.Signals[c.SignalId].Status == SignalStatus.Active
                    ? Proto.ChangeKind.Retracted
                    : ProtoMapper.ToProto(c.Kind),
                Signal = record,
                CommittedAt = timestamps.Of(c.CommittedAt),
            });
        }
        return changes;
    }

    /// <summary>The caller's visibility epoch, which its cursors carry.</summary>
    private Task<int> ViewOfAsync(Caller caller, CancellationToken ct) => ViewOfAsync(db, caller, ct);

    internal static Task<int> ViewOfAsync(HubDbContext db, Caller caller, CancellationToken ct) =>
        db.Members.AsNoTracking().Where(m => m.Id == caller.MemberId).Select(m => m.VisibilityEpoch).FirstOrDefaultAsync(ct);

    internal static List<string> ParseTypes(IList<Proto.SignalType> requested, string field)
    {
        var types = new List<string>(requested.Count);
        for (var i = 0; i < requested.Count; i++)
        {
            var type = SignalTypeMap.ToCore(requested[i])
                ?? throw new RequestValidationException($"{field}[{i}]", $"must be one of {SignalTypeMap.Accepted}");
            types.Add(type.Name);
        }
        return types;
    }

    [LoggerMessage(EventId = 2000, Level = LogLevel.Information, Message = "Member {MemberId} subscribed from sequence {Seq}")]
    private static partial void LogSubscribed(ILogger logger, string memberId, long seq);
}
