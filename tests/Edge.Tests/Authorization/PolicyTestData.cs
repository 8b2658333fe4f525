using XksGrpc.Edge.Authorization;

namespace XksGrpc.Edge.Tests.Authorization;

/// <summary>Requests and policies shared by the authorization tests.</summary>
internal static class PolicyTestData
{
    public const string Alice = "arn:aws:iam::123456789012:user/Alice";
    public const string KeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    public static AuthorizationRequest Request(
        string api = XksApis.Encrypt,
        string keystore = "ks1",
        string? keyId = "foo",
        string? principal = Alice,
        string? operation = "Encrypt",
        string? viaService = null,
        string? sourceVpc = null,
        string? sourceVpce = null,
        string? keyArn = KeyArn) =>
        new(api, keystore, keyId, principal, operation, viaService, sourceVpc, sourceVpce, keyArn);

    public static AuthorizationPolicy Parse(string json)
    {
        Assert.True(AuthorizationPolicy.TryParse(json, out AuthorizationPolicy? policy, out IReadOnlyList<string> errors), string.Join("\n", errors));
        return policy!;
    }

    public static IReadOnlyList<string> Errors(string json)
    {
        Assert.False(AuthorizationPolicy.TryParse(json, out AuthorizationPolicy? policy, out IReadOnlyList<string> errors));
        Assert.Null(policy);
        Assert.NotEmpty(errors);
        return errors;
    }

    /// <summary>A single-rule allow policy with default deny whose one rule holds <paramref name="condition"/>.</summary>
    public static AuthorizationPolicy OneCondition(string condition) =>
        Parse($$"""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow", {{condition}} } ] }""");
}
