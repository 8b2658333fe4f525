using System.Diagnostics.CodeAnalysis;

namespace XksGrpc.Edge.Authentication;

/// <summary>
/// What SigV4 verification needs of an HTTP request (spec Appendix A, Task 1): the method,
/// the path exactly as received (before any decoding), the raw query string (without '?'),
/// the headers (HTTP/2's :authority is surfaced by Kestrel as Host) and the exact body bytes.
/// </summary>
internal readonly record struct SigV4Request(
    string Method,
    string RawPath,
    string RawQuery,
    Microsoft.AspNetCore.Http.IHeaderDictionary Headers,
    ReadOnlyMemory<byte> Body);

/// <summary>A configured SigV4 credential: its access key id, the keystore it belongs to, and its secret.</summary>
internal sealed class SigV4Credential(string accessKeyId, string keystore, string secretAccessKey)
{
    public string AccessKeyId { get; } = accessKeyId;

    public string Keystore { get; } = keystore;

    /// <summary>The raw secret access key. Never logged, never put in a message.</summary>
    public string SecretAccessKey { get; } = secretAccessKey;

    public override string ToString() => $"SigV4Credential({AccessKeyId}, {Keystore})";
}

/// <summary>Looks up the credential for an access key id (spec Appendix A: the id selects the secret).</summary>
internal interface ISigV4CredentialSource
{
    bool TryGet(string accessKeyId, [NotNullWhen(true)] out SigV4Credential? credential);
}

/// <summary>Why a request failed SigV4 verification. Every value maps to 401 AuthenticationFailedException.</summary>
internal enum SigV4Failure
{
    None = 0,
    MissingAuthorization,
    MalformedAuthorization,
    UnsupportedAlgorithm,
    MalformedCredentialScope,
    WrongService,
    UnknownAccessKeyId,
    MissingSignedHeader,
    MissingDate,
    MalformedDate,
    ScopeDateMismatch,
    StaleDate,
    SignatureMismatch,
}

/// <summary>The outcome of verifying one request.</summary>
internal readonly record struct SigV4Result(SigV4Failure Failure, SigV4Credential? Credential, string? Region)
{
    [MemberNotNullWhen(true, nameof(Credential))]
    public bool Succeeded => Failure == SigV4Failure.None && Credential is not null;
}
