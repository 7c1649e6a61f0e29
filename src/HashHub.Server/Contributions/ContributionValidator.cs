using HashHub.Core.Signals;
using HashHub.Server.Errors;
using HashHub.Server.Signals;
using Proto = HashHub.Protos.V1;

namespace HashHub.Server.Contributions;

/// <summary>A contribution item that passed validation: canonical value, sorted distinct labels.</summary>
internal sealed record ValidItem(SignalType Type, string Value, int? Quality, string[] Labels, int SourceKind, string? IncidentId, string? CaseReference, string? Note)
{
    /// <summary>The sharing groups it is scoped to, sorted and distinct; empty for every member.</summary>
    public string[] SharingGroupIds { get; init; } = [];
}

/// <summary>
/// Checks a batch before anything is written (DESIGN.md invariant 5): every violation is collected with its
/// field path, so a member fixes the whole batch in one round.
/// </summary>
internal sealed class ContributionValidator(HubOptions options, IReadOnlyDictionary<string, bool> labelsDeprecated)
{
    public const int MaxLabels = 32;
    public const int MaxIncidentId = 100;
    public const int MaxCaseReference = 200;
    public const int MaxNote = 2000;
    private const int MaxViolations = 100;

    private readonly List<FieldViolation> _violations = [];
    private (string[] Input, string[] Result)? _lastLabels;

    public static void ValidateIdempotencyKey(string key, List<FieldViolation> violations)
    {
        if (string.IsNullOrEmpty(key))
        {
            violations.Add(new("idempotency_key", "is required: choose a unique key per batch so that a retry changes nothing"));
        }
        else if (key.Length > 128 || key.Any(ch => ch is < '!' or > '~'))
        {
            violations.Add(new("idempotency_key", "must be 1-128 printable ASCII characters without spaces"));
        }
    }

    public IReadOnlyList<ValidItem> Validate(Proto.SubmitContributionsRequest request)
    {
        ValidateIdempotencyKey(request.IdempotencyKey, _violations);
        if (request.Items.Count == 0)
        {
            _violations.Add(new("items", "must hold at least one contribution"));
        }
        else if (request.Items.Count > options.MaxBatchSize)
        {
            _violations.Add(new("items", $"holds {request.Items.Count} contributions; the most in one batch is {options.MaxBatchSize}: split it"));
        }
        if (_violations.Count > 0)
        {
            throw new RequestValidationException(_violations);
        }

        var items = new List<ValidItem>(request.Items.Count);
        var seen = new Dictionary<(string, string), int>(request.Items.Count);
        for (var i = 0; i < request.Items.Count && _violations.Count < MaxViolations; i++)
        {
            var item = Validate(request.Items[i], i);
            if (item is null)
            {
                continue;
            }
            if (!seen.TryAdd((item.Type.Name, item.Value), i))
            {
                _violations.Add(new($"items[{i}].signal.value", $"repeats the signal of items[{seen[(item.Type.Name, item.Value)]}]; send each signal once per batch"));
                continue;
            }
            items.Add(item);
        }
        if (_violations.Count > 0)
        {
            throw new RequestValidationException(_violations);
        }
        return items;
    }

    // Field paths are spelled out only for a violation: a valid batch of 10,000 items builds none.

    private ValidItem? Validate(Proto.ContributionInput input, int i)
    {
        var before = _violations.Count;
        var signal = ValidateSignal(input.Signal, i, out var value, out var quality);
        var labels = ValidateLabels(input.Labels, i);
        if (input.SourceKind == Proto.SourceKind.Unspecified || !System.Enum.IsDefined(input.SourceKind))
        {
            _violations.Add(new($"items[{i}].source_kind", "must be one of upload, livestream, user_report, referral, proactive"));
        }
        var incident = Optional(input.IncidentId, MaxIncidentId, i, "incident_id");
        var caseReference = Optional(input.CaseReference, MaxCaseReference, i, "case_reference");
        var note = Optional(input.Note, MaxNote, i, "note");
        return _violations.Count > before || signal is null
            ? null
            : new ValidItem(signal, value, quality, labels, (int)input.SourceKind, incident, caseReference, note)
            {
                SharingGroupIds = input.SharingGroupIds.Count == 0 ? [] : [.. input.SharingGroupIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            };
    }

    private SignalType? ValidateSignal(Proto.Signal? signal, int i, out string value, out int? quality)
    {
        value = string.Empty;
        quality = null;
        if (signal is null)
        {
            _violations.Add(new($"items[{i}].signal", "is required"));
            return null;
        }
        var type = SignalTypeMap.ToCore(signal.Type);
        if (type is null)
        {
            _violations.Add(new($"items[{i}].signal.type", signal.Type == Proto.SignalType.Vpdq
                ? "vpdq is not accepted by this hub yet"
                : $"must be one of {SignalTypeMap.Accepted}"));
            return null;
        }
        if (!type.TryNormalize(signal.Value, out value, out var error))
        {
            _violations.Add(new($"items[{i}].signal.value", $"{type.Name} value {error}"));
            return null;
        }
        if (type.HasQuality)
        {
            if (!signal.HasQuality)
            {
                _violations.Add(new($"items[{i}].signal.quality", $"is required for {type.Name}: send the quality your hasher computed"));
                return null;
            }
            if (signal.Quality is < 0 or > 100)
            {
                _violations.Add(new($"items[{i}].signal.quality", $"must be between 0 and 100, got {signal.Quality}"));
                return null;
            }
            if (signal.Quality < options.MinPdqQuality)
            {
                _violations.Add(new($"items[{i}].signal.quality", $"is {signal.Quality}, under the minimum of {options.MinPdqQuality}: low-quality hashes match unrelated images"));
                return null;
            }
            quality = signal.Quality;
        }
        return type;
    }

    private string[] ValidateLabels(IList<string> labels, int i)
    {
        // The items of a batch mostly carry the same labels: the previous item's answer is reused, the same array
        // (labels are never changed in place), when its list is the same.
        if (_lastLabels is { } last && SameLabels(labels, last.Input))
        {
            return last.Result;
        }
        var before = _violations.Count;
        var result = Canonical(labels, i, null);
        if (_violations.Count == before)
        {
            _lastLabels = ([.. labels], result);
        }
        return result;
    }

    private static bool SameLabels(IList<string> labels, string[] previous)
    {
        if (labels.Count != previous.Length)
        {
            return false;
        }
        for (var j = 0; j < previous.Length; j++)
        {
            if (!string.Equals(labels[j], previous[j], StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>The labels of a relabelling request: sorted, distinct, each from the taxonomy and not deprecated.</summary>
    internal string[] ValidateLabels(IList<string> labels, string path) => Canonical(labels, -1, path);

    private string[] Canonical(IList<string> labels, int i, string? path)
    {
        if (labels.Count == 0)
        {
            _violations.Add(new(path ?? $"items[{i}].labels", "must hold at least one label from the taxonomy (see ListLabels)"));
            return [];
        }
        if (labels.Count > MaxLabels)
        {
            _violations.Add(new(path ?? $"items[{i}].labels", $"holds {labels.Count} labels; the most is {MaxLabels}"));
            return [];
        }
        var result = new List<string>(labels.Count);
        for (var j = 0; j < labels.Count; j++)
        {
            var label = labels[j];
            if (!labelsDeprecated.TryGetValue(label, out var deprecated))
            {
                _violations.Add(new($"{path ?? $"items[{i}].labels"}[{j}]", $"'{Truncate(label)}' is not a label of the taxonomy (see ListLabels)"));
            }
            else if (deprecated)
            {
                _violations.Add(new($"{path ?? $"items[{i}].labels"}[{j}]", $"'{label}' is deprecated and cannot be used on new contributions"));
            }
            else
            {
                result.Add(label);
            }
        }
        result.Sort(StringComparer.Ordinal);
        var distinct = 0;
        for (var j = 0; j < result.Count; j++)
        {
            if (j == 0 || !string.Equals(result[j], result[distinct - 1], StringComparison.Ordinal))
            {
                result[distinct++] = result[j];
            }
        }
        result.RemoveRange(distinct, result.Count - distinct);
        return [.. result];
    }

    internal void ThrowIfInvalid()
    {
        if (_violations.Count > 0)
        {
            throw new RequestValidationException(_violations);
        }
    }

    private string? Optional(string text, int max, int i, string field)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        if (text.Length > max)
        {
            _violations.Add(new($"items[{i}].{field}", $"is {text.Length} characters long; the most is {max}"));
            return null;
        }
        return text;
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";
}
