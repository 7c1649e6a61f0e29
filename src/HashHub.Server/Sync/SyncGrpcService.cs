using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Contributions;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Signals;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
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
        var cursor = Cursor.Parse(request.Cursor, epoch.Value, "cursor");
        var pageSize = request.PageSize switch
        {
            0 => options.Value.DefaultPageSize,
            < 0 => throw new RequestValidationException("page_size", "must not be negative"),
            var n when n > options.Value.MaxPageSize => throw new RequestValidationException("page_size", $"is {n}; the most is {options.Value.MaxPageSize}"),
            var n => n,
        };
        var types = ParseTypes(request.SignalTypes, "signal_types");
        var page = await new ChangeReader(db).ReadAsync(cursor.Seq, pageSize, types, context.CancellationToken);
        var response = new Proto.ReadChangesResponse
        {
            NextCursor = new Cursor(epoch.Value, page.NextSeq).Encode(),
            HasMore = page.HasMore,
        };
        response.Changes.AddRange(await ToProtoAsync(page, context.CancellationToken));
        return response;
    }

    public override async Task Subscribe(Proto.SubscribeRequest request, IServerStreamWriter<Proto.SubscribeResponse> responseStream, ServerCallContext context)
    {
        var cursor = Cursor.Parse(request.Cursor, epoch.Value, "cursor");
        var types = ParseTypes(request.SignalTypes, "signal_types");
        var ct = context.CancellationToken;
        var reader = new ChangeReader(db);
        var seq = cursor.Seq;
        var caughtUpSent = false;
        var lastSent = time.GetUtcNow();
        LogSubscribed(logger, Caller.From(context).MemberId, seq);

        while (!ct.IsCancellationRequested)
        {
            // Take the wake-up task before reading, so a commit between the read and the wait is not missed.
            var woken = notifier.NextAsync();
            var page = await reader.ReadAsync(seq, options.Value.MaxPageSize, types, ct);
            foreach (var change in await ToProtoAsync(page, ct))
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
                await responseStream.WriteAsync(new Proto.SubscribeResponse { CaughtUp = new Proto.CaughtUp { Cursor = new Cursor(epoch.Value, seq).Encode() } }, ct);
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

    private async Task<List<Proto.Change>> ToProtoAsync(ChangePage page, CancellationToken ct)
    {
        var names = await members.ForAsync(db, page.Signals.Values, ct);
        var timestamps = new ProtoMapper.Timestamps();
        var records = new Dictionary<long, Proto.SignalRecord>(page.Signals.Count);
        foreach (var (id, signal) in page.Signals)
        {
            records[id] = ProtoMapper.ToProto(signal, names, timestamps);
        }
        var changes = new List<Proto.Change>(page.Changes.Count);
        foreach (var c in page.Changes)
        {
            changes.Add(new Proto.Change
            {
                Cursor = new Cursor(epoch.Value, c.Seq).Encode(),
                Kind = ProtoMapper.ToProto(c.Kind),
                Signal = records[c.SignalId],
                CommittedAt = timestamps.Of(c.CommittedAt),
            });
        }
        return changes;
    }

    private static List<string> ParseTypes(IList<Proto.SignalType> requested, string field)
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
