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
        var seen = new Dictionary<(string, string), int>();
        for (var i = 0; i < request.Items.Count && _violations.Count < MaxViolations; i++)
        {
            var item = Validate(request.Items[i], $"items[{i}]");
            if (item is null)
            {
                continue;
            }
            if (seen.TryGetValue((item.Type.Name, item.Value), out var first))
            {
                _violations.Add(new($"items[{i}].signal.value", $"repeats the signal of items[{first}]; send each signal once per batch"));
                continue;
            }
            seen[(item.Type.Name, item.Value)] = i;
            items.Add(item);
        }
        if (_violations.Count > 0)
        {
            throw new RequestValidationException(_violations);
        }
        return items;
    }

    private ValidItem? Validate(Proto.ContributionInput input, string path)
    {
        var before = _violations.Count;
        var signal = ValidateSignal(input.Signal, $"{path}.signal", out var value, out var quality);
        var labels = ValidateLabels(input.Labels, $"{path}.labels");
        if (input.SourceKind == Proto.SourceKind.Unspecified || !System.Enum.IsDefined(input.SourceKind))
        {
            _violations.Add(new($"{path}.source_kind", "must be one of upload, livestream, user_report, referral, proactive"));
        }
        var incident = Optional(input.IncidentId, MaxIncidentId, $"{path}.incident_id");
        var caseReference = Optional(input.CaseReference, MaxCaseReference, $"{path}.case_reference");
        var note = Optional(input.Note, MaxNote, $"{path}.note");
        return _violations.Count > before || signal is null
            ? null
            : new ValidItem(signal, value, quality, labels, (int)input.SourceKind, incident, caseReference, note)
            {
                SharingGroupIds = [.. input.SharingGroupIds.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)],
            };
    }

    private SignalType? ValidateSignal(Proto.Signal? signal, string path, out string value, out int? quality)
    {
        value = string.Empty;
        quality = null;
        if (signal is null)
        {
            _violations.Add(new(path, "is required"));
            return null;
        }
        var type = SignalTypeMap.ToCore(signal.Type);
        if (type is null)
        {
            _violations.Add(new($"{path}.type", signal.Type == Proto.SignalType.Vpdq
                ? "vpdq is not accepted by this hub yet"
                : $"must be one of {SignalTypeMap.Accepted}"));
            return null;
        }
        if (!type.TryNormalize(signal.Value, out value, out var error))
        {
            _violations.Add(new($"{path}.value", $"{type.Name} value {error}"));
            return null;
        }
        if (type.HasQuality)
        {
            if (!signal.HasQuality)
            {
                _violations.Add(new($"{path}.quality", $"is required for {type.Name}: send the quality your hasher computed"));
                return null;
            }
            if (signal.Quality is < 0 or > 100)
            {
                _violations.Add(new($"{path}.quality", $"must be between 0 and 100, got {signal.Quality}"));
                return null;
            }
            if (signal.Quality < options.MinPdqQuality)
            {
                _violations.Add(new($"{path}.quality", $"is {signal.Quality}, under the minimum of {options.MinPdqQuality}: low-quality hashes match unrelated images"));
                return null;
            }
            quality = signal.Quality;
        }
        return type;
    }

    internal string[] ValidateLabels(IList<string> labels, string path)
    {
        if (labels.Count == 0)
        {
            _violations.Add(new(path, "must hold at least one label from the taxonomy (see ListLabels)"));
            return [];
        }
        if (labels.Count > MaxLabels)
        {
            _violations.Add(new(path, $"holds {labels.Count} labels; the most is {MaxLabels}"));
            return [];
        }
        var result = new SortedSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < labels.Count; i++)
        {
            var label = labels[i];
            if (!labelsDeprecated.TryGetValue(label, out var deprecated))
            {
                _violations.Add(new($"{path}[{i}]", $"'{Truncate(label)}' is not a label of the taxonomy (see ListLabels)"));
            }
            else if (deprecated)
            {
                _violations.Add(new($"{path}[{i}]", $"'{label}' is deprecated and cannot be used on new contributions"));
            }
            else
            {
                result.Add(label);
            }
        }
        return [.. result];
    }

    internal void ThrowIfInvalid()
    {
        if (_violations.Count > 0)
        {
            throw new RequestValidationException(_violations);
        }
    }

    private string? Optional(string text, int max, string path)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }
        if (text.Length > max)
        {
            _violations.Add(new(path, $"is {text.Length} characters long; the most is {max}"));
            return null;
        }
        return text;
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";
}
