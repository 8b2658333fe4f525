using Grpc.Core;
using XksGrpc.Broker.V1;

namespace XksGrpc.Edge.Errors;

/// <summary>
/// The spec's error table ("Error codes"): every XKS error name with its HTTP status, the gRPC
/// code the broker uses for it (design.md, "Wire between edge and broker") and a default
/// message, side by side. Every failure path of the edge ends in one of these rows.
/// </summary>
internal static class XksErrorTable
{
    private static readonly Row[] Rows = Build();

    /// <summary>The HTTP status the spec assigns to an error.</summary>
    public static int HttpStatus(XksErrorName name) => Get(name).HttpStatus;

    /// <summary>The spec's errorName, e.g. "ValidationException".</summary>
    public static string ErrorName(XksErrorName name) => Get(name).ErrorName;

    /// <summary>The gRPC status code the broker answers this error with.</summary>
    public static StatusCode GrpcCode(XksErrorName name) => Get(name).GrpcCode;

    /// <summary>A safe default errorMessage for the error.</summary>
    public static string DefaultMessage(XksErrorName name) => Get(name).DefaultMessage;

    /// <summary>
    /// The error a gRPC status without an <c>XksError</c> detail stands for (design.md):
    /// DeadlineExceeded/Unavailable/Cancelled → DependencyTimeout, ResourceExhausted → Throttling,
    /// anything else → Internal.
    /// </summary>
    public static XksErrorName FromGrpcCode(StatusCode code) => code switch
    {
        StatusCode.DeadlineExceeded or StatusCode.Unavailable or StatusCode.Cancelled => XksErrorName.DependencyTimeoutException,
        StatusCode.ResourceExhausted => XksErrorName.ThrottlingException,
        _ => XksErrorName.InternalException,
    };

    private static Row Get(XksErrorName name)
    {
        var index = (int)name;
        return (uint)index < (uint)Rows.Length && Rows[index].ErrorName is not null
            ? Rows[index]
            : Rows[(int)XksErrorName.InternalException];
    }

    private static Row[] Build()
    {
        var rows = new Row[(int)XksErrorName.InternalException + 1];
        void Add(XksErrorName name, int http, StatusCode grpc, string errorName, string message)
            => rows[(int)name] = new Row(http, grpc, errorName, message);

        Add(XksErrorName.ValidationException, 400, StatusCode.InvalidArgument, "ValidationException",
            "The request was rejected because one or more input parameters is invalid.");
        Add(XksErrorName.InvalidStateException, 400, StatusCode.FailedPrecondition, "InvalidStateException",
            "The request was rejected because the specified external key or key store is disabled, deactivated or blocked.");
        Add(XksErrorName.InvalidCiphertextException, 400, StatusCode.InvalidArgument, "InvalidCiphertextException",
            "The request was rejected because the specified ciphertext, initialization vector, additional authenticated data or authentication tag is corrupted, missing, or otherwise invalid.");
        Add(XksErrorName.InvalidKeyUsageException, 400, StatusCode.FailedPrecondition, "InvalidKeyUsageException",
            "The request was rejected because the specified key does not support the requested operation.");
        Add(XksErrorName.AuthenticationFailedException, 401, StatusCode.Unauthenticated, "AuthenticationFailedException",
            "The request was rejected due to an invalid AWS SigV4 signature.");
        Add(XksErrorName.AccessDeniedException, 403, StatusCode.PermissionDenied, "AccessDeniedException",
            "The request was rejected because the operation is not authorized based on request metadata.");
        Add(XksErrorName.KeyNotFoundException, 404, StatusCode.NotFound, "KeyNotFoundException",
            "The request was rejected because the specified external key is not found.");
        Add(XksErrorName.InvalidUriPathException, 404, StatusCode.NotFound, "InvalidUriPathException",
            "The request was rejected because the specified URI path is not valid.");
        Add(XksErrorName.ThrottlingException, 429, StatusCode.ResourceExhausted, "ThrottlingException",
            "The request was rejected because the request rate is too high.");
        Add(XksErrorName.UnsupportedOperationException, 501, StatusCode.Unimplemented, "UnsupportedOperationException",
            "The request was rejected because the operation is not implemented or a parameter exceeds the supported size.");
        Add(XksErrorName.DependencyTimeoutException, 503, StatusCode.Unavailable, "DependencyTimeoutException",
            "The XKS proxy timed out while trying to access a dependency layer to fulfill the request.");
        Add(XksErrorName.InternalException, 500, StatusCode.Internal, "InternalException",
            "The request failed because of an internal error of the XKS proxy or its key manager.");
        return rows;
    }

    private readonly record struct Row(int HttpStatus, StatusCode GrpcCode, string ErrorName, string DefaultMessage);
}
