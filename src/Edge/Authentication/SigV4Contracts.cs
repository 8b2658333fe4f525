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

    /// <summary>
    /// Span overload used by the verifier's hot path; sources that can look up without allocating
    /// (like <see cref="CredentialStore"/>) override it.
    /// </summary>
    bool TryGet(ReadOnlySpan<char> accessKeyId, [NotNullWhen(true)] out SigV4Credential? credential)
        => TryGet(accessKeyId.ToString(), out credential);
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

    // Added with the verifier (append-only: values above keep their numbers).

    /// <summary>The credential scope names a region outside the configured allow-list.</summary>
    WrongRegion,

    /// <summary>A header listed in SignedHeaders is not present in the request.</summary>
    SignedHeaderAbsent,

    /// <summary>An x-amz-content-sha256 header is present but not listed in SignedHeaders.</summary>
    UnsignedPayloadHashHeader,

    /// <summary>A signed x-amz-content-sha256 header does not equal the SHA-256 of the body actually received.</summary>
    PayloadHashMismatch,
}

/// <summary>The outcome of verifying one request.</summary>
internal readonly record struct SigV4Result(SigV4Failure Failure, SigV4Credential? Credential, string? Region)
{
    /// <summary>
    /// The access key id the request claimed, once it parsed as one (letters and digits only), whether or
    /// not it is known: safe to log (an access key id is not a secret), null when the header did not parse.
    /// </summary>
    public string? AccessKeyId { get; init; }

    [MemberNotNullWhen(true, nameof(Credential))]
    public bool Succeeded => Failure == SigV4Failure.None && Credential is not null;
}
