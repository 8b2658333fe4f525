using Microsoft.AspNetCore.Http;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Pipeline;

// The seams through which later layers plug into the request path. Each has exactly one
// call site in the pipeline.

/// <summary>
/// Verifies a request's SigV4 signature (spec Appendix A). Implemented over the SigV4 verifier of
/// src/Edge/Authentication; every failure is answered 401 AuthenticationFailedException.
/// </summary>
internal interface IRequestAuthenticator
{
    SigV4Result Authenticate(in SigV4Request request);
}

/// <summary>The decision of secondary authorization (spec, "Authorization").</summary>
/// <param name="Allowed">Whether the request may proceed.</param>
/// <param name="RuleId">The rule that decided, logged with the request (null: no policy).</param>
/// <param name="Message">Safe text for the 403 errorMessage.</param>
internal readonly record struct AuthorizationDecision(bool Allowed, string? RuleId, string? Message)
{
    public static AuthorizationDecision AllowedWithoutPolicy { get; } = new(true, null, null);
}

/// <summary>
/// Secondary authorization of a validated request (issue 5). Called after validation and before
/// forwarding, never for GetHealthStatus (spec: it MUST be excluded).
/// </summary>
internal interface IRequestAuthorizer
{
    AuthorizationDecision Authorize(XksExchange exchange);
}

/// <summary>Allows everything: the edge's behaviour when no policy engine is registered.</summary>
internal sealed class AllowAllAuthorizer : IRequestAuthorizer
{
    public AuthorizationDecision Authorize(XksExchange exchange) => AuthorizationDecision.AllowedWithoutPolicy;
}

/// <summary>
/// Receives every finished XKS request (issue 5's tamper-evident audit log). Called once per
/// request, after the response, with the final outcome in <see cref="XksExchange.Failure"/>.
/// </summary>
internal interface IRequestAuditSink
{
    void Record(XksExchange exchange, HttpContext context, TimeSpan latency);
}
