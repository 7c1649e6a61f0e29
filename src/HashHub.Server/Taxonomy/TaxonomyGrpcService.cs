using Grpc.Core;
using Microsoft.AspNetCore.Authorization;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Taxonomy;

// Policies are per method: attributes on the class and on a method would both apply.
internal sealed class TaxonomyGrpcService(LabelCatalog labels) : Proto.Taxonomy.TaxonomyBase
{
    [Authorize(Policy = Auth.HubPolicies.Read)]
    public override async Task<Proto.ListLabelsResponse> ListLabels(Proto.ListLabelsRequest request, ServerCallContext context)
    {
        var response = new Proto.ListLabelsResponse();
        response.Labels.AddRange((await labels.ListAsync(context.CancellationToken)).Select(ToProto));
        return response;
    }

    [Authorize(Policy = Auth.HubPolicies.Admin)]
    public override async Task<Proto.Label> AddLabel(Proto.AddLabelRequest request, ServerCallContext context)
    {
        var caller = Membership.Caller.From(context);
        return ToProto(await labels.AddAsync(request.Key, request.DisplayName, request.Description, caller.MemberId, caller.ClientId, context.CancellationToken));
    }

    private static Proto.Label ToProto(Storage.LabelEntity l) => new()
    {
        Key = l.Key,
        Category = (Proto.LabelCategory)(int)l.Category,
        DisplayName = l.DisplayName,
        Description = l.Description,
        Deprecated = l.Deprecated,
    };
}
