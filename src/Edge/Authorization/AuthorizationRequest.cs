namespace XksGrpc.Edge.Authorization;

/// <summary>
/// What secondary authorization sees of one XKS request (spec "Authorization" and Appendix B):
/// the API, the keystore (path prefix) it arrived on, the external key id from the URI and the
/// requestMetadata fields. Deliberately has no field for plaintext, AAD or ciphertext.
/// </summary>
/// <param name="Api">One of <see cref="XksApis"/>.</param>
/// <param name="Keystore">The configured keystore name the request's path prefix selected.</param>
/// <param name="KeyId">The external key id from the URI; null for GetHealthStatus.</param>
internal sealed record AuthorizationRequest(
    string Api,
    string Keystore,
    string? KeyId,
    string? AwsPrincipalArn,
    string? KmsOperation,
    string? KmsViaService,
    string? AwsSourceVpc,
    string? AwsSourceVpce,
    string? KmsKeyArn);

/// <summary>
/// The outcome of secondary authorization. A denial is answered 403 AccessDeniedException and
/// <see cref="RuleId"/> is logged (spec "Logging": log the statement responsible for the denial).
/// </summary>
/// <param name="Allowed">Whether the request may proceed.</param>
/// <param name="RuleId">
/// The id of the deciding rule, <c>"default"</c> when no rule matched, or one of the
/// parenthesised pseudo-rules: <see cref="AuthorizationDecision.HealthExemptRule"/>,
/// <see cref="AuthorizationDecision.NoPolicyRule"/>, <see cref="AuthorizationDecision.PolicyUnavailableRule"/>.
/// </param>
/// <param name="Reason">A one-line explanation, safe to log (names conditions, never values).</param>
internal sealed record AuthorizationDecision(bool Allowed, string RuleId, string Reason)
{
    /// <summary>GetHealthStatus is never subject to secondary authorization.</summary>
    public const string HealthExemptRule = "(health exempt)";

    /// <summary>The keystore has no policy file configured: secondary authorization is off.</summary>
    public const string NoPolicyRule = "(no policy)";

    /// <summary>A policy file is configured but no valid version of it was ever loaded: fail closed.</summary>
    public const string PolicyUnavailableRule = "(policy unavailable)";

    /// <summary>The rule id reported when no rule matched and the keystore default decided.</summary>
    public const string DefaultRule = "default";

    internal static readonly AuthorizationDecision HealthExempt =
        new(true, HealthExemptRule, "GetHealthStatus is not subject to secondary authorization");
}

/// <summary>The XKS API names (spec "API operations"), as used in policies and audit records.</summary>
internal static class XksApis
{
    public const string GetKeyMetadata = "GetKeyMetadata";
    public const string Encrypt = "Encrypt";
    public const string Decrypt = "Decrypt";
    public const string GetHealthStatus = "GetHealthStatus";

    /// <summary>The APIs secondary authorization applies to.</summary>
    public static readonly IReadOnlyList<string> Authorized = [GetKeyMetadata, Encrypt, Decrypt];
}
