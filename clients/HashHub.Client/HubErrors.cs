using Google.Rpc;
using Grpc.Core;

namespace HashHub.Client;

/// <summary>One field the hub refused in a request, and why.</summary>
/// <param name="Field">
/// The field's path in the request the SDK sent, for example <c>items[0].sharing_group_ids[1]</c>: a contribution is
/// sent as one item per hash (PDQ when the image has one, then MD5, then SHA-256), each with the labels and sharing
/// groups in the order given.
/// </param>
/// <param name="Description">Why, in the hub's words.</param>
public sealed record HubFieldViolation(string Field, string Description)
{
    /// <inheritdoc />
    public override string ToString() => $"{Field}: {Description}";
}

/// <summary>Reads the details the hub puts in its errors.</summary>
public static class HubErrors
{
    /// <summary>
    /// The fields an <c>InvalidArgument</c> answer names (its <c>google.rpc.BadRequest</c> detail), in the hub's order;
    /// empty for other errors. The exception's <see cref="RpcException.Status"/> detail summarises them as one line.
    /// </summary>
    /// <example>
    /// <code>
    /// catch (RpcException e) when (e.StatusCode == StatusCode.InvalidArgument)
    /// {
    ///     foreach (var v in HubErrors.FieldViolations(e)) Console.Error.WriteLine(v);
    /// }
    /// </code>
    /// </example>
    public static IReadOnlyList<HubFieldViolation> FieldViolations(RpcException exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception.GetRpcStatus()?.GetDetail<BadRequest>() is { } badRequest
            ? [.. badRequest.FieldViolations.Select(v => new HubFieldViolation(v.Field, v.Description))]
            : [];
    }
}
