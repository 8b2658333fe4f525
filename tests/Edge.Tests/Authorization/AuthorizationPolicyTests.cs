using XksGrpc.Edge.Authorization;
using static XksGrpc.Edge.Tests.Authorization.PolicyTestData;

namespace XksGrpc.Edge.Tests.Authorization;

public sealed class AuthorizationPolicyTests
{
    private static readonly Dictionary<string, (AuthorizationRequest Matching, AuthorizationRequest Other)> Cases = new()
    {
        ["\"apis\": [\"Encrypt\"]"] = (Request(api: XksApis.Encrypt), Request(api: XksApis.Decrypt)),
        ["\"keyIds\": [\"foo\", \"bar-*\"]"] = (Request(keyId: "bar-7"), Request(keyId: "baz")),
        ["\"principals\": [\"arn:aws:iam::123456789012:role/*\"]"] = (Request(principal: "arn:aws:iam::123456789012:role/App"), Request(principal: Alice)),
        ["\"kmsOperations\": [\"GenerateDataKey*\"]"] = (Request(operation: "GenerateDataKeyWithoutPlaintext"), Request(operation: "ReEncrypt")),
        ["\"viaServices\": [\"ebs*\"]"] = (Request(viaService: "ebs"), Request(viaService: "rds")),
        ["\"sourceVpcs\": [\"vpc-0a*\"]"] = (Request(sourceVpc: "vpc-0a12"), Request(sourceVpc: "vpc-0b12")),
        ["\"sourceVpces\": [\"vpce-1\"]"] = (Request(sourceVpce: "vpce-1"), Request(sourceVpce: "vpce-2")),
        ["\"kmsKeyAccounts\": [\"123456789012\"]"] = (Request(keyArn: KeyArn), Request(keyArn: "arn:aws:kms:us-east-1:999999999999:key/k")),
        ["\"kmsKeyRegions\": [\"us-east-1\"]"] = (Request(keyArn: KeyArn), Request(keyArn: "arn:aws:kms:eu-west-1:123456789012:key/k")),
        ["\"kmsKeyArns\": [\"arn:aws:kms:us-east-1:123456789012:key/*\"]"] = (Request(keyArn: KeyArn), Request(keyArn: "arn:aws:kms:us-east-1:123456789012:key2/k")),
    };

    public static TheoryData<string> EachCondition => new(Cases.Keys);

    [Theory]
    [MemberData(nameof(EachCondition))]
    public void Evaluate_WithOneCondition_AllowsOnlyMatchingRequests(string condition)
    {
        AuthorizationPolicy policy = OneCondition(condition);
        (AuthorizationRequest matching, AuthorizationRequest other) = Cases[condition];

        AuthorizationDecision allowed = policy.Evaluate(matching);
        AuthorizationDecision denied = policy.Evaluate(other);

        Assert.True(allowed.Allowed);
        Assert.Equal("r1", allowed.RuleId);
        Assert.False(denied.Allowed);
        Assert.Equal("default", denied.RuleId);
    }

    [Theory]
    [InlineData("\"viaServices\": [\"*\"]")]
    [InlineData("\"sourceVpcs\": [\"*\"]")]
    [InlineData("\"sourceVpces\": [\"*\"]")]
    [InlineData("\"kmsKeyAccounts\": [\"*\"]")]
    [InlineData("\"kmsKeyRegions\": [\"*\"]")]
    public void Evaluate_WhenTheRequestLacksTheField_ConditionDoesNotMatchEvenAStar(string condition)
    {
        AuthorizationPolicy policy = OneCondition(condition);

        AuthorizationDecision decision = policy.Evaluate(Request(viaService: null, sourceVpc: null, sourceVpce: null, keyArn: "arn:aws:kms:us-east-1:123456789012:alias/x"));

        Assert.False(decision.Allowed);
        Assert.Equal("default", decision.RuleId);
    }

    [Fact]
    public void Evaluate_AccountAndRegion_ParseTheSpecExampleArnForm()
    {
        AuthorizationPolicy policy = OneCondition("\"kmsKeyAccounts\": [\"123456789012\"], \"kmsKeyRegions\": [\"us-east-2\"]");

        Assert.True(policy.Evaluate(Request(keyArn: "arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab")).Allowed);
    }

    [Fact]
    public void Evaluate_RuleWithSeveralConditions_NeedsAllOfThem()
    {
        AuthorizationPolicy policy = OneCondition("\"apis\": [\"Decrypt\"], \"keyIds\": [\"foo\"], \"principals\": [\"" + Alice + "\"]");

        Assert.True(policy.Evaluate(Request(api: XksApis.Decrypt)).Allowed);
        Assert.False(policy.Evaluate(Request(api: XksApis.Decrypt, keyId: "bar")).Allowed);
        Assert.False(policy.Evaluate(Request(api: XksApis.Encrypt)).Allowed);
        Assert.False(policy.Evaluate(Request(api: XksApis.Decrypt, principal: null)).Allowed);
    }

    [Fact]
    public void Evaluate_FirstMatchingRuleDecides_InFileOrder()
    {
        AuthorizationPolicy policy = Parse("""
            {
              "default": "allow",
              "rules": [
                { "id": "deny-rds", "effect": "deny", "viaServices": ["rds"] },
                { "id": "allow-foo", "effect": "allow", "keyIds": ["foo"] },
                { "id": "deny-all-keys", "effect": "deny", "keyIds": ["*"] }
              ]
            }
            """);

        Assert.Equal(("deny-rds", false), Decide(policy, Request(keyId: "foo", viaService: "rds")));
        Assert.Equal(("allow-foo", true), Decide(policy, Request(keyId: "foo", viaService: "ebs")));
        Assert.Equal(("deny-all-keys", false), Decide(policy, Request(keyId: "bar")));
        Assert.Equal(("default", true), Decide(policy, Request(api: XksApis.GetKeyMetadata, keyId: null)));
    }

    [Theory]
    [InlineData("allow", true)]
    [InlineData("deny", false)]
    public void Evaluate_WhenNoRuleMatches_TheDefaultDecides(string defaultEffect, bool allowed)
    {
        AuthorizationPolicy policy = Parse($$"""{ "default": "{{defaultEffect}}", "rules": [ { "id": "r", "effect": "deny", "keyIds": ["other"] } ] }""");

        AuthorizationDecision decision = policy.Evaluate(Request());

        Assert.Equal(allowed, decision.Allowed);
        Assert.Equal(AuthorizationDecision.DefaultRule, decision.RuleId);
        Assert.Contains($"default is {defaultEffect}", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_GetHealthStatus_IsAlwaysAllowedAsHealthExempt()
    {
        AuthorizationPolicy policy = Parse("""{ "default": "deny", "rules": [ { "id": "deny-all", "effect": "deny" } ] }""");

        AuthorizationDecision decision = policy.Evaluate(Request(api: XksApis.GetHealthStatus, keyId: null, principal: null, operation: null, keyArn: null));

        Assert.True(decision.Allowed);
        Assert.Equal(AuthorizationDecision.HealthExemptRule, decision.RuleId);
    }

    [Fact]
    public void Evaluate_ARuleWithoutConditions_MatchesEverything()
    {
        AuthorizationPolicy policy = Parse("""{ "default": "allow", "rules": [ { "id": "lockdown", "effect": "deny" } ] }""");

        AuthorizationDecision decision = policy.Evaluate(Request());

        Assert.Equal(("lockdown", false), (decision.RuleId, decision.Allowed));
        Assert.Contains("unconditional", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_DenialReason_NamesTheRuleAndConditionsButNoRequestValues()
    {
        AuthorizationPolicy policy = Parse("""{ "default": "allow", "rules": [ { "id": "no-alice", "effect": "deny", "principals": ["*Alice"], "apis": ["Encrypt"] } ] }""");

        AuthorizationDecision decision = policy.Evaluate(Request());

        Assert.False(decision.Allowed);
        Assert.Equal("rule \"no-alice\" (on principals, apis) matched: deny", decision.Reason);
        Assert.DoesNotContain(Alice, decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_OnTheHotPath_DoesNotAllocate()
    {
        AuthorizationPolicy policy = Parse("""
            { "default": "deny", "rules": [
              { "id": "a", "effect": "deny", "principals": ["arn:aws:iam::*:role/Blocked*"], "kmsKeyRegions": ["eu-*"] },
              { "id": "b", "effect": "allow", "apis": ["Encrypt", "Decrypt"], "keyIds": ["fo?"], "kmsKeyAccounts": ["123456789012"] } ] }
            """);
        AuthorizationRequest request = Request();
        Assert.True(policy.Evaluate(request).Allowed);

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            policy.Evaluate(request);
        }

        // KmsKeyArn parsing splits the ARN once per request; everything else is allocation-free.
        long perCall = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000;
        Assert.True(perCall < 512, $"{perCall} bytes per evaluation");
    }

    [Fact]
    public void TryParse_AcceptsCommentsTrailingCommasAndDescriptions()
    {
        AuthorizationPolicy policy = Parse("""
            {
              // who may use ks1
              "description": "ks1 policy",
              "default": "deny",
              "rules": [ { "id": "r1", "effect": "allow", "description": "all", }, ],
            }
            """);

        Assert.Single(policy.Rules);
        Assert.False(policy.DefaultAllows);
    }

    [Theory]
    [InlineData("""{ "default": "deny", "rules": [ """, "invalid JSON")]
    [InlineData("""[]""", "must be a JSON object")]
    [InlineData("""{ "rules": [] }""", "default: required")]
    [InlineData("""{ "default": "deny" }""", "rules: required")]
    [InlineData("""{ "default": "Deny", "rules": [] }""", "default: must be \"allow\" or \"deny\"")]
    [InlineData("""{ "default": "deny", "rules": {} }""", "rules: must be an array")]
    [InlineData("""{ "default": "deny", "rules": [], "version": 2 }""", "\"version\": unknown property")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "permit" } ] }""", "rules[0].effect: must be \"allow\" or \"deny\", got \"permit\"")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1" } ] }""", "rules[0].effect: required")]
    [InlineData("""{ "default": "deny", "rules": [ { "effect": "allow" } ] }""", "rules[0].id: required")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "", "effect": "allow" } ] }""", "rules[0].id: must be a non-empty string")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "  ", "effect": "allow" } ] }""", "rules[0].id: must be a non-empty string")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow" }, { "id": "r1", "effect": "deny" } ] }""", "rules[1].id: duplicate rule id \"r1\"")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow", "principal": ["x"] } ] }""", "rules[0].principal: unknown condition")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow", "keyIds": [] } ] }""", "rules[0].keyIds: must be a non-empty array")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow", "keyIds": "foo" } ] }""", "rules[0].keyIds: must be a non-empty array")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow", "keyIds": ["foo", 3] } ] }""", "rules[0].keyIds[1]: must be a non-empty string")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow", "apis": ["Sign"] } ] }""", "rules[0].apis[0]: unknown API \"Sign\"")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow", "apis": ["GetHealthStatus"] } ] }""", "GetHealthStatus is never subject")]
    [InlineData("""{ "default": "deny", "rules": [ { "id": "r1", "effect": "allow", "id": "r2" } ] }""", "rules[0].id: appears more than once")]
    [InlineData("""{ "default": "deny", "rules": [ "r1" ] }""", "rules[0]: must be an object")]
    public void TryParse_RejectsAnInvalidPolicy_WithAnErrorNamingTheLocation(string json, string expected)
    {
        IReadOnlyList<string> errors = PolicyTestData.Errors(json);

        Assert.Contains(errors, e => e.Contains(expected, StringComparison.Ordinal));
    }

    [Fact]
    public void TryParse_ReportsEveryProblemAtOnce()
    {
        IReadOnlyList<string> errors = PolicyTestData.Errors("""
            { "default": "maybe", "rules": [
              { "id": "", "effect": "allow" },
              { "id": "r2", "effect": "nope" },
              { "id": "r3", "effect": "allow", "colour": ["red"] } ] }
            """);

        Assert.Equal(4, errors.Count);
    }

    [Fact]
    public void Explain_ReportsEveryConditionOfEveryRule_AndMarksTheDecidingRule()
    {
        AuthorizationPolicy policy = Parse("""
            { "default": "deny", "rules": [
              { "id": "rds", "effect": "deny", "viaServices": ["rds"] },
              { "id": "alice", "effect": "allow", "principals": ["*Alice"], "keyIds": ["foo"] },
              { "id": "all", "effect": "allow" } ] }
            """);

        PolicyExplanation explanation = policy.Explain(Request());

        Assert.Equal("alice", explanation.Decision.RuleId);
        Assert.Collection(
            explanation.Rules,
            r =>
            {
                Assert.False(r.Matched);
                ConditionTrace c = Assert.Single(r.Conditions);
                Assert.Null(c.RequestValue);
                Assert.False(c.Matched);
            },
            r =>
            {
                Assert.True(r.Decisive);
                Assert.All(r.Conditions, c => Assert.True(c.Matched));
            },
            r =>
            {
                Assert.True(r.Matched);
                Assert.False(r.Decisive);
            });
    }

    private static (string, bool) Decide(AuthorizationPolicy policy, AuthorizationRequest request)
    {
        AuthorizationDecision decision = policy.Evaluate(request);
        return (decision.RuleId, decision.Allowed);
    }
}
