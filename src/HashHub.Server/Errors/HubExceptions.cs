namespace HashHub.Server.Errors;

/// <summary>One field of a request that is wrong, and why; becomes a <c>google.rpc.BadRequest</c> violation.</summary>
public sealed record FieldViolation(string Field, string Description)
{
    public override string ToString() => $"{Field}: {Description}";
}

/// <summary>The request is invalid; nothing was changed. Mapped to <c>InvalidArgument</c>.</summary>
public sealed class RequestValidationException(IReadOnlyList<FieldViolation> violations)
    : Exception(Describe(violations))
{
    public RequestValidationException(string field, string description)
        : this([new FieldViolation(field, description)])
    {
    }

    public IReadOnlyList<FieldViolation> Violations { get; } = violations;

    private static string Describe(IReadOnlyList<FieldViolation> violations) =>
        violations.Count == 1
            ? violations[0].ToString()
            : $"{violations.Count} invalid fields; first: {violations[0]}";
}

/// <summary>What was asked for does not exist (or the caller may not know it exists). Mapped to <c>NotFound</c>.</summary>
public sealed class NotFoundException(string message) : Exception(message);

/// <summary>The caller is known but may not do this. Mapped to <c>PermissionDenied</c>.</summary>
public sealed class PermissionDeniedException(string message) : Exception(message);

/// <summary>The request is valid but the target's state forbids it. Mapped to <c>FailedPrecondition</c>.</summary>
public sealed class PreconditionFailedException(string message) : Exception(message);

/// <summary>The hub cannot answer yet but will soon (for example while loading its match index): Unavailable, so clients retry.</summary>
public sealed class HubUnavailableException(string message) : Exception(message);
