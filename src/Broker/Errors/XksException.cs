using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Errors;

/// <summary>
/// The one exception of the broker's request path: an error of the spec's table ("Error codes")
/// with a message that is safe to send to the edge and to log (printable ASCII, no secrets).
/// </summary>
internal sealed class XksException(XksErrorName name, string safeMessage) : Exception(safeMessage)
{
    /// <summary>Which error of the spec's table.</summary>
    public XksErrorName Name { get; } = name;

    /// <summary>The message sent to the edge.</summary>
    public string SafeMessage { get; } = safeMessage;

    public static XksException Validation(string message) => new(XksErrorName.ValidationException, message);
    public static XksException InvalidCiphertext(string message) => new(XksErrorName.InvalidCiphertextException, message);
    public static XksException InvalidState(string message) => new(XksErrorName.InvalidStateException, message);
    public static XksException InvalidKeyUsage(string message) => new(XksErrorName.InvalidKeyUsageException, message);
    public static XksException KeyNotFound(string message) => new(XksErrorName.KeyNotFoundException, message);
    public static XksException Unsupported(string message) => new(XksErrorName.UnsupportedOperationException, message);
    public static XksException DependencyTimeout(string message) => new(XksErrorName.DependencyTimeoutException, message);
    public static XksException Throttling(string message) => new(XksErrorName.ThrottlingException, message);
    public static XksException Internal(string message) => new(XksErrorName.InternalException, message);
}
