using XksGrpc.Broker.V1;

namespace XksGrpc.Edge.Errors;

/// <summary>
/// A failed request: which row of the spec's error table, and a safe message (no plaintext,
/// ciphertext, AAD or secret ever goes into it).
/// </summary>
internal readonly record struct XksFailure(XksErrorName Name, string? Message)
{
    public int HttpStatus => XksErrorTable.HttpStatus(Name);

    public static XksFailure Validation(string message) => new(XksErrorName.ValidationException, message);

    public static XksFailure Unsupported(string message) => new(XksErrorName.UnsupportedOperationException, message);

    public static XksFailure InvalidCiphertext(string message) => new(XksErrorName.InvalidCiphertextException, message);
}
