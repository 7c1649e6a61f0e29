using System.Text.RegularExpressions;
using Grpc.Core;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using Microsoft.AspNetCore.Authorization;
using Microsoft.EntityFrameworkCore;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Taxonomy;

// Policies are per method: attributes on the class and on a method would both apply.
internal sealed partial class TaxonomyGrpcService(HubDbContext db, Sync.ChangeLog changeLog, TimeProvider time) : Proto.Taxonomy.TaxonomyBase
{
    private static readonly Dictionary<string, LabelCategory> Categories = new(StringComparer.Ordinal)
    {
        ["content_type"] = LabelCategory.ContentType,
        ["behavior"] = LabelCategory.Behavior,
        ["entity"] = LabelCategory.Entity,
        ["incident"] = LabelCategory.Incident,
    };

    [Authorize(Policy = Auth.HubPolicies.Read)]
    public override async Task<Proto.ListLabelsResponse> ListLabels(Proto.ListLabelsRequest request, ServerCallContext context)
    {
        var labels = await db.Labels.AsNoTracking().OrderBy(l => l.Category).ThenBy(l => l.Key).ToListAsync(context.CancellationToken);
        var response = new Proto.ListLabelsResponse();
        response.Labels.AddRange(labels.Select(ToProto));
        return response;
    }

    [Authorize(Policy = Auth.HubPolicies.Admin)]
    public override async Task<Proto.Label> AddLabel(Proto.AddLabelRequest request, ServerCallContext context)
    {
        var violations = new List<FieldViolation>();
        var separator = request.Key.IndexOf(':', StringComparison.Ordinal);
        LabelCategory category = default;
        if (separator < 0 || !Categories.TryGetValue(request.Key[..separator], out category))
        {
            violations.Add(new("key", "must be '<category>:<name>' with category one of content_type, behavior, entity, incident"));
        }
        else if (!NamePattern().IsMatch(request.Key[(separator + 1)..]))
        {
            violations.Add(new("key", "name must be 1-64 characters from a-z, 0-9, '_' and '-'"));
        }
        if (string.IsNullOrWhiteSpace(request.DisplayName) || request.DisplayName.Length > 200)
        {
            violations.Add(new("display_name", "is required, at most 200 characters"));
        }
        if (request.Description.Length > 2000)
        {
            violations.Add(new("description", "is at most 2,000 characters"));
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }
        var caller = Membership.Caller.From(context);
        var label = await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            if (await db.Labels.AnyAsync(l => l.Key == request.Key, ct))
            {
                throw new RequestValidationException("key", $"'{request.Key}' already exists");
            }
            var label = new LabelEntity
            {
                Key = request.Key,
                Category = category,
                DisplayName = request.DisplayName.Trim(),
                Description = request.Description,
                CreatedAt = time.GetUtcNow(),
            };
            db.Labels.Add(label);
            batch.Audit(new Audit.AuditRecord(caller.MemberId, caller.ClientId, "taxonomy.add_label", label.Key, new { label.DisplayName, label.Description }));
            return label;
        }, context.CancellationToken);
        return ToProto(label);
    }

    private static Proto.Label ToProto(LabelEntity l) => new()
    {
        Key = l.Key,
        Category = (Proto.LabelCategory)(int)l.Category,
        DisplayName = l.DisplayName,
        Description = l.Description,
        Deprecated = l.Deprecated,
    };

    [GeneratedRegex("^[a-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
