using Grpc.Core;
using HashHub.Server.Auth;
using HashHub.Server.Contributions;
using HashHub.Server.Errors;
using HashHub.Server.Membership;
using HashHub.Server.Signals;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Probation;

[Authorize(Policy = HubPolicies.Admin)]
internal sealed class ProbationGrpcService(HubDbContext db, HeldContributions held, MemberDirectory directory) : Proto.Probation.ProbationBase
{
    private const int MaxReason = 2000;

    public override async Task<Proto.MemberInfo> EndProbation(Proto.EndProbationRequest request, ServerCallContext context)
    {
        if (string.IsNullOrEmpty(request.MemberId))
        {
            throw new RequestValidationException("member_id", "is required");
        }
        CheckReason(request.Reason, required: false);
        var member = await held.EndProbationAsync(Caller.From(context), request.MemberId, request.ReleaseHeld, request.Reason, context.CancellationToken);
        return await MembersGrpcService.ToProtoAsync(db, member, context.CancellationToken);
    }

    public override async Task<Proto.ListHeldContributionsResponse> ListHeldContributions(Proto.ListHeldContributionsRequest request, ServerCallContext context)
    {
        var pageSize = request.PageSize switch
        {
            0 => HeldContributions.MaxIds,
            < 0 or > HeldContributions.MaxIds => throw new RequestValidationException("page_size", $"must be between 0 and {HeldContributions.MaxIds}"),
            var n => n,
        };
        var after = string.IsNullOrEmpty(request.AfterContributionId) ? 0 : ContributionService.ParseId(request.AfterContributionId, "after_contribution_id");
        var list = await held.ListAsync(request.MemberId, after, pageSize, context.CancellationToken);
        var names = await directory.ForAsync(db, list.Select(c => c.MemberId), context.CancellationToken);
        var response = new Proto.ListHeldContributionsResponse();
        response.Contributions.AddRange(list.Select(c => new Proto.HeldContribution
        {
            SignalId = c.SignalId.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Signal = ToSignal(c.Signal!),
            Contribution = ProtoMapper.ToProto(c, names),
        }));
        return response;
    }

    public override async Task<Proto.DecideHeldContributionsResponse> ReleaseContributions(Proto.DecideHeldContributionsRequest request, ServerCallContext context)
    {
        var ids = ParseIds(request);
        CheckReason(request.Reason, required: false);
        return new() { Count = await held.ReleaseAsync(Caller.From(context), ids, request.Reason, context.CancellationToken) };
    }

    public override async Task<Proto.DecideHeldContributionsResponse> RejectContributions(Proto.DecideHeldContributionsRequest request, ServerCallContext context)
    {
        var ids = ParseIds(request);
        CheckReason(request.Reason, required: true);
        return new() { Count = await held.RejectAsync(Caller.From(context), ids, request.Reason, context.CancellationToken) };
    }

    private static List<long> ParseIds(Proto.DecideHeldContributionsRequest request)
    {
        if (request.ContributionIds.Count is 0 or > HeldContributions.MaxIds)
        {
            throw new RequestValidationException("contribution_ids", $"must hold 1 to {HeldContributions.MaxIds} ids");
        }
        return [.. request.ContributionIds.Select((id, i) => ContributionService.ParseId(id, $"contribution_ids[{i}]"))];
    }

    private static void CheckReason(string reason, bool required)
    {
        if ((required && string.IsNullOrWhiteSpace(reason)) || reason.Length > MaxReason)
        {
            throw new RequestValidationException("reason", required
                ? $"is required (at most {MaxReason} characters): it goes into the audit log"
                : $"is at most {MaxReason} characters");
        }
    }

    private static Proto.Signal ToSignal(SignalEntity s)
    {
        var signal = new Proto.Signal { Type = SignalTypeMap.ToProto(s.Type), Value = s.Value };
        if (s.Quality is { } quality)
        {
            signal.Quality = quality;
        }
        return signal;
    }
}
