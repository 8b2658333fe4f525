using XksGrpc.Edge.Authorization;
using XksGrpc.Edge.Routing;

namespace XksGrpc.Edge.Pipeline;

/// <summary>The pipeline's authorization stage over the per-keystore policy store (spec, "Authorization").</summary>
internal sealed class PolicyRequestAuthorizer(PolicyStore policies) : IRequestAuthorizer
{
    public AuthorizationDecision Authorize(XksExchange exchange)
    {
        var metadata = exchange.Metadata;
        var decision = policies.Evaluate(new AuthorizationRequest(
            ApiNames.Of(exchange.Api),
            exchange.Keystore,
            exchange.Api == XksApi.GetHealthStatus ? null : exchange.KeyId,
            metadata is { AwsPrincipalArn.Length: > 0 } ? metadata.AwsPrincipalArn : null,
            metadata?.KmsOperation,
            metadata is { HasKmsViaService: true } ? metadata.KmsViaService : null,
            metadata is { HasAwsSourceVpc: true } ? metadata.AwsSourceVpc : null,
            metadata is { HasAwsSourceVpce: true } ? metadata.AwsSourceVpce : null,
            metadata is { HasKmsKeyArn: true } ? metadata.KmsKeyArn : null));
        return new AuthorizationDecision(decision.Allowed, decision.RuleId,
            decision.Allowed ? null : $"The request was denied by the keystore's authorization policy (rule {decision.RuleId}).");
    }
}
