namespace XksGrpc.Edge.Audit;

/// <summary>
/// What the edge reports about one finished XKS request for the audit log (spec "Logging": log the
/// request metadata, kmsRequestId above all, the processing time, success or the error, and the policy
/// statement behind an AccessDenied). This type is the whole input of <see cref="AuditLog"/>: it has no
/// field that could carry plaintext, AAD, ciphertext, key material or a secret, and must never get one.
/// </summary>
/// <param name="Api">GetKeyMetadata | Encrypt | Decrypt | GetHealthStatus.</param>
/// <param name="Keystore">The configured keystore the path prefix selected (null when none matched).</param>
/// <param name="KeyId">The external key id from the URI, if any.</param>
/// <param name="TlsClientSubject">The mTLS client certificate's subject, when one was presented.</param>
/// <param name="Outcome"><c>"ok"</c>, or the spec errorName answered (e.g. <c>AccessDeniedException</c>).</param>
/// <param name="PolicyRule">The secondary-authorization rule that decided, if the policy ran.</param>
/// <param name="LatencyMs">Time from request arrival to response, in milliseconds.</param>
internal sealed record AuditEvent(
    string Api,
    string? Keystore,
    string? KeyId,
    string? KmsRequestId,
    string? KmsOperation,
    string? AwsPrincipalArn,
    string? KmsKeyArn,
    string? KmsViaService,
    string? AwsSourceVpc,
    string? AwsSourceVpce,
    string? TlsClientSubject,
    string Outcome,
    string? PolicyRule,
    double LatencyMs)
{
    /// <summary>The outcome of a successful request.</summary>
    public const string Ok = "ok";
}
