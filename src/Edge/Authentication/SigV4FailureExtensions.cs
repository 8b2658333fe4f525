namespace XksGrpc.Edge.Authentication;

/// <summary>
/// Log- and metric-safe text for a <see cref="SigV4Failure"/>: constant, low-cardinality strings that never
/// contain request data or secrets. Pair with <see cref="SigV4Result.AccessKeyId"/> in a
/// <c>[LoggerMessage]</c> (e.g. <c>"SigV4 verification failed: {Reason} (access key id {AccessKeyId})"</c>).
/// The client only ever gets the generic 401 AuthenticationFailedException.
/// </summary>
internal static class SigV4FailureExtensions
{
    public static string Reason(this SigV4Failure failure) => failure switch
    {
        SigV4Failure.None => "none",
        SigV4Failure.MissingAuthorization => "missing Authorization header",
        SigV4Failure.MalformedAuthorization => "malformed Authorization header",
        SigV4Failure.UnsupportedAlgorithm => "unsupported signing algorithm (expected AWS4-HMAC-SHA256)",
        SigV4Failure.MalformedCredentialScope => "malformed credential scope",
        SigV4Failure.WrongService => "credential scope service is not the configured one (kms-xks-proxy)",
        SigV4Failure.UnknownAccessKeyId => "unknown access key id",
        SigV4Failure.MissingSignedHeader => "host and x-amz-date must be signed headers",
        SigV4Failure.MissingDate => "missing x-amz-date header",
        SigV4Failure.MalformedDate => "malformed or repeated x-amz-date header",
        SigV4Failure.ScopeDateMismatch => "credential scope date differs from the x-amz-date date",
        SigV4Failure.StaleDate => "x-amz-date outside the allowed clock skew",
        SigV4Failure.SignatureMismatch => "signature mismatch",
        SigV4Failure.WrongRegion => "credential scope region not allowed",
        SigV4Failure.SignedHeaderAbsent => "a signed header is absent from the request",
        SigV4Failure.UnsignedPayloadHashHeader => "x-amz-content-sha256 present but not signed",
        SigV4Failure.PayloadHashMismatch => "x-amz-content-sha256 differs from the body received",
        _ => "unknown failure",
    };
}
