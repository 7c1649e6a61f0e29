using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Audit;

[Authorize(Policy = Auth.HubPolicies.Admin)]
internal sealed class AuditGrpcService(HubDbContext db) : Proto.Audit.AuditBase
{
    private const int MaxPageSize = 5_000;

    public override async Task<Proto.ExportAuditLogResponse> ExportAuditLog(Proto.ExportAuditLogRequest request, ServerCallContext context)
    {
        var pageSize = request.PageSize switch
        {
            0 => 1_000,
            < 0 or > MaxPageSize => throw new RequestValidationException("page_size", $"must be between 1 and {MaxPageSize}"),
            var n => n,
        };
        if (request.AfterSeq < 0)
        {
            throw new RequestValidationException("after_seq", "must not be negative");
        }
        var entries = await db.AuditLog.AsNoTracking().Where(e => e.Seq > request.AfterSeq).OrderBy(e => e.Seq)
            .Take(pageSize + 1).ToListAsync(context.CancellationToken);
        var response = new Proto.ExportAuditLogResponse { HasMore = entries.Count > pageSize };
        response.Entries.AddRange(entries.Take(pageSize).Select(e => new Proto.AuditEntry
        {
            Seq = e.Seq,
            At = Timestamp.FromDateTimeOffset(e.At),
            ActorId = e.ActorId,
            ClientId = e.ClientId,
            Action = e.Action,
            Target = e.Target,
            Details = e.Details,
            PreviousHash = ByteString.CopyFrom(e.PreviousHash),
            Hash = ByteString.CopyFrom(e.Hash),
        }));
        return response;
    }

    public override async Task<Proto.VerifyAuditLogResponse> VerifyAuditLog(Proto.VerifyAuditLogRequest request, ServerCallContext context)
    {
        var result = await AuditChain.VerifyAsync(db, context.CancellationToken);
        return new Proto.VerifyAuditLogResponse
        {
            Intact = result.Intact,
            EntriesChecked = result.EntriesChecked,
            FirstBrokenSeq = result.FirstBrokenSeq ?? 0,
            Reason = result.Reason,
            HeadHash = ByteString.CopyFrom(result.HeadHash),
        };
    }
}
