using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using Grpc.Core.Interceptors;

namespace HashHub.Server.Errors;

/// <summary>
/// The one place where domain exceptions become gRPC statuses. Anything unexpected becomes <c>Internal</c>
/// with no details leaked, and is logged.
/// </summary>
internal sealed partial class ErrorMappingInterceptor(ILogger<ErrorMappingInterceptor> logger) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            return await continuation(request, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, context);
        }
    }

    public override async Task ServerStreamingServerHandler<TRequest, TResponse>(
        TRequest request, IServerStreamWriter<TResponse> responseStream, ServerCallContext context,
        ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        try
        {
            await continuation(request, responseStream, context);
        }
        catch (Exception ex) when (ex is not RpcException)
        {
            throw Map(ex, context);
        }
    }

    internal RpcException Map(Exception ex, ServerCallContext context)
    {
        switch (ex)
        {
            case RequestValidationException v:
                var badRequest = new BadRequest();
                badRequest.FieldViolations.AddRange(v.Violations.Select(f => new BadRequest.Types.FieldViolation { Field = f.Field, Description = f.Description }));
                return new Google.Rpc.Status
                {
                    Code = (int)Code.InvalidArgument,
                    Message = v.Message,
                    Details = { Any.Pack(badRequest) },
                }.ToRpcException();
            case NotFoundException:
                return new RpcException(new Grpc.Core.Status(StatusCode.NotFound, ex.Message));
            case PermissionDeniedException:
                return new RpcException(new Grpc.Core.Status(StatusCode.PermissionDenied, ex.Message));
            case PreconditionFailedException:
                return new RpcException(new Grpc.Core.Status(StatusCode.FailedPrecondition, ex.Message));
            case HubUnavailableException:
                return new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, ex.Message));
            case OperationCanceledException when context.CancellationToken.IsCancellationRequested:
                return new RpcException(new Grpc.Core.Status(StatusCode.Cancelled, "The call was cancelled."));
            default:
                LogUnexpected(logger, ex, context.Method);
                return new RpcException(new Grpc.Core.Status(StatusCode.Internal, "The hub failed to process the call; it changed nothing. The error is in the hub's log."));
        }
    }

    [LoggerMessage(EventId = 1000, Level = LogLevel.Error, Message = "Unexpected error in {Method}")]
    private static partial void LogUnexpected(ILogger logger, Exception ex, string method);
}
