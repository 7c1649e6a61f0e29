using System.Text.RegularExpressions;
using HashHub.Server.Audit;
using HashHub.Server.Errors;
using HashHub.Server.Storage;
using HashHub.Server.Sync;
using Microsoft.EntityFrameworkCore;

namespace HashHub.Server.Taxonomy;

/// <summary>
/// The label taxonomy the admins keep, shared by the Taxonomy RPCs and the admin console. Keys are
/// <c>category:name</c>; a label once added is never removed (contributions keep naming it), only deprecated.
/// </summary>
internal sealed partial class LabelCatalog(HubDbContext db, ChangeLog changeLog, TimeProvider time)
{
    public static readonly IReadOnlyDictionary<string, LabelCategory> Categories = new Dictionary<string, LabelCategory>(StringComparer.Ordinal)
    {
        ["content_type"] = LabelCategory.ContentType,
        ["behavior"] = LabelCategory.Behavior,
        ["entity"] = LabelCategory.Entity,
        ["incident"] = LabelCategory.Incident,
    };

    public async Task<IReadOnlyList<LabelEntity>> ListAsync(CancellationToken cancellationToken) =>
        await db.Labels.AsNoTracking().OrderBy(l => l.Category).ThenBy(l => l.Key).ToListAsync(cancellationToken);

    /// <summary>Adds a label, audited in the name of <paramref name="actorId"/> (and its client, if any).</summary>
    public async Task<LabelEntity> AddAsync(string key, string displayName, string description, string actorId, string clientId, CancellationToken cancellationToken)
    {
        var violations = new List<FieldViolation>();
        var separator = key.IndexOf(':', StringComparison.Ordinal);
        LabelCategory category = default;
        if (separator < 0 || !Categories.TryGetValue(key[..separator], out category))
        {
            violations.Add(new("key", "must be '<category>:<name>' with category one of content_type, behavior, entity, incident"));
        }
        else if (!NamePattern().IsMatch(key[(separator + 1)..]))
        {
            violations.Add(new("key", "name must be 1-64 characters from a-z, 0-9, '_' and '-'"));
        }
        if (string.IsNullOrWhiteSpace(displayName) || displayName.Length > 200)
        {
            violations.Add(new("display_name", "is required, at most 200 characters"));
        }
        if (description.Length > 2000)
        {
            violations.Add(new("description", "is at most 2,000 characters"));
        }
        if (violations.Count > 0)
        {
            throw new RequestValidationException(violations);
        }
        return await changeLog.WriteAsync(db, async (batch, ct) =>
        {
            if (await db.Labels.AnyAsync(l => l.Key == key, ct))
            {
                throw new RequestValidationException("key", $"'{key}' already exists");
            }
            var label = new LabelEntity
            {
                Key = key,
                Category = category,
                DisplayName = displayName.Trim(),
                Description = description,
                CreatedAt = time.GetUtcNow(),
            };
            db.Labels.Add(label);
            batch.Audit(new AuditRecord(actorId, clientId, "taxonomy.add_label", label.Key, new { label.DisplayName, label.Description }));
            return label;
        }, cancellationToken);
    }

    [GeneratedRegex("^[a-z0-9_-]{1,64}$")]
    private static partial Regex NamePattern();
}
