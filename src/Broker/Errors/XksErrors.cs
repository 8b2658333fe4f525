using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Errors;

/// <summary>
/// The spec's error table ("Error codes") side by side with the gRPC status code the broker
/// answers (design.md, "Wire between edge and broker"). The one place that knows both.
/// </summary>
internal static class XksErrors
{
    /// <summary>gRPC status code of each XKS error, as the edge expects it.</summary>
    public static StatusCode ToStatusCode(XksErrorName name) => name switch
    {
        XksErrorName.ValidationException => StatusCode.InvalidArgument,          // 400
        XksErrorName.InvalidCiphertextException => StatusCode.InvalidArgument,   // 400
        XksErrorName.InvalidStateException => StatusCode.FailedPrecondition,     // 400
        XksErrorName.InvalidKeyUsageException => StatusCode.FailedPrecondition,  // 400
        XksErrorName.AuthenticationFailedException => StatusCode.Unauthenticated, // 401 (edge only)
        XksErrorName.AccessDeniedException => StatusCode.PermissionDenied,       // 403
        XksErrorName.KeyNotFoundException => StatusCode.NotFound,                // 404
        XksErrorName.InvalidUriPathException => StatusCode.NotFound,             // 404 (edge only)
        XksErrorName.ThrottlingException => StatusCode.ResourceExhausted,        // 429
        XksErrorName.UnsupportedOperationException => StatusCode.Unimplemented,  // 501
        XksErrorName.DependencyTimeoutException => StatusCode.Unavailable,       // 503
        _ => StatusCode.Internal,                                                // 500
    };

    /// <summary>
    /// An RpcException whose google.rpc.Status carries exactly one packed <see cref="XksError"/>.
    /// </summary>
    public static RpcException ToRpcException(XksErrorName name, string safeMessage)
    {
        var message = Sanitize(safeMessage);
        var status = new Google.Rpc.Status
        {
            Code = (int)ToStatusCode(name),
            Message = message,
            Details = { Any.Pack(new XksError { Name = name, Message = message }) },
        };
        return status.ToRpcException();
    }

    /// <summary>The spec: errorMessage under 512 characters of printable ASCII.</summary>
    internal static string Sanitize(string message)
    {
        Span<char> buffer = stackalloc char[Math.Min(message.Length, 511)];
        for (var i = 0; i < buffer.Length; i++)
        {
            var c = message[i];
            buffer[i] = c is >= ' ' and <= '~' ? c : '?';
        }

        return new string(buffer);
    }
}
