using Grpc.Core;
using HashHub.Server.Membership;
using Microsoft.AspNetCore.Authorization;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Contributions;

// Policies are per method: attributes on the class and on a method would both apply.
internal sealed class ContributionsGrpcService(ContributionService contributions) : Proto.Contributions.ContributionsBase
{
    [Authorize(Policy = Auth.HubPolicies.Write)]
    public override Task<Proto.SubmitContributionsResponse> SubmitContributions(Proto.SubmitContributionsRequest request, ServerCallContext context) =>
        contributions.SubmitAsync(Caller.From(context), request, context.CancellationToken);

    [Authorize(Policy = Auth.HubPolicies.Read)]
    public override Task<Proto.SignalRecord> GetSignal(Proto.GetSignalRequest request, ServerCallContext context) =>
        contributions.GetAsync(Caller.From(context), request, context.CancellationToken);

    [Authorize(Policy = Auth.HubPolicies.Write)]
    public override async Task<Proto.RetractContributionResponse> RetractContribution(Proto.RetractContributionRequest request, ServerCallContext context) =>
        new() { Signal = await contributions.RetractAsync(Caller.From(context), request, context.CancellationToken) };

    [Authorize(Policy = Auth.HubPolicies.Write)]
    public override Task<Proto.Contribution> UpdateContributionLabels(Proto.UpdateContributionLabelsRequest request, ServerCallContext context) =>
        contributions.UpdateLabelsAsync(Caller.From(context), request, context.CancellationToken);
}
