using Grpc.Core;
using HashHub.Server.Membership;
using Microsoft.AspNetCore.Authorization;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Matching;

internal sealed class MatchingGrpcService(MatchService matches, OutcomeService outcomes) : Proto.Matching.MatchingBase
{
    [Authorize(Policy = Auth.HubPolicies.Read)]
    public override Task<Proto.MatchResponse> Match(Proto.MatchRequest request, ServerCallContext context) =>
        matches.MatchAsync(Caller.From(context), request, context.CancellationToken);

    [Authorize(Policy = Auth.HubPolicies.Feedback)]
    public override Task<Proto.ReportOutcomesResponse> ReportOutcomes(Proto.ReportOutcomesRequest request, ServerCallContext context) =>
        outcomes.ReportAsync(Caller.From(context), request, context.CancellationToken);
}
