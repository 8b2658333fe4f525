using XksGrpc.Edge.Authorization;

namespace XksGrpc.Edge.Tests.Authorization;

public sealed class PolicyCommandTests : IDisposable
{
    private const string Policy = """
        {
          "default": "deny",
          "rules": [
            { "id": "deny-rds", "effect": "deny", "viaServices": ["rds"] },
            { "id": "alice-foo", "effect": "allow", "principals": ["arn:aws:iam::123456789012:user/Alice"], "keyIds": ["foo"], "kmsKeyRegions": ["us-east-2"] }
          ]
        }
        """;

    // The spec's Encrypt example body, including a plaintext that must never be printed.
    private const string EncryptBody = """
        {
          "requestMetadata": {
            "awsPrincipalArn": "arn:aws:iam::123456789012:user/Alice",
            "kmsKeyArn": "arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "kmsOperation": "Encrypt",
            "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
            "kmsViaService": "ebs"
          },
          "additionalAuthenticatedData": "cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n",
          "plaintext": "SGVsbG8gV29ybGQh",
          "encryptionAlgorithm": "AES_GCM"
        }
        """;

    private readonly string _dir = Directory.CreateTempSubdirectory("xks-policy-cli-").FullName;
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Explain_WhenARuleAllows_ExitsZeroAndNamesTheRule()
    {
        int exit = Run("policy", "explain", "--policy", Write("p.json", Policy), "--request", Write("r.json", EncryptBody), "--api", "Encrypt", "--key", "foo");

        Assert.Equal(0, exit);
        string output = _out.ToString();
        Assert.Contains("rule \"alice-foo\" (allow): MATCH  <- decides", output, StringComparison.Ordinal);
        Assert.Contains("decision: ALLOW by rule \"alice-foo\"", output, StringComparison.Ordinal);
        Assert.Contains("MISS  viaServices    \"ebs\" vs [\"rds\"]", output, StringComparison.Ordinal);
        Assert.Contains("region=us-east-2", output, StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_WhenTheDefaultDenies_ExitsOneAndSaysSo()
    {
        int exit = Run("explain", "--policy", Write("p.json", Policy), "--request", Write("r.json", EncryptBody), "--api", "Decrypt", "--key", "bar");

        Assert.Equal(1, exit);
        Assert.Contains("no rule matched: the default (deny) decides", _out.ToString(), StringComparison.Ordinal);
        Assert.Contains("decision: DENY by the default (403 AccessDeniedException)", _out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_NeverPrintsThePlaintextOrAad()
    {
        Run("explain", "--policy", Write("p.json", Policy), "--request", Write("r.json", EncryptBody), "--api", "Encrypt", "--key", "foo");

        Assert.DoesNotContain("SGVsbG8gV29ybGQh", _out.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("cHJvamVjdD1uaWxl", _out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_AcceptsABareRequestMetadataObject()
    {
        string metadata = """{ "awsPrincipalArn": "arn:aws:iam::123456789012:user/Alice", "kmsOperation": "Decrypt", "kmsViaService": "rds", "kmsRequestId": "x", "kmsKeyArn": "arn:aws:kms:us-east-2:123456789012:key/k" }""";

        int exit = Run("explain", "--policy", Write("p.json", Policy), "--request", Write("m.json", metadata), "--api", "Decrypt", "--key", "foo");

        Assert.Equal(1, exit);
        Assert.Contains("decision: DENY by rule \"deny-rds\"", _out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Explain_ForGetHealthStatus_SaysItIsExempt()
    {
        int exit = Run("explain", "--policy", Write("p.json", Policy), "--request", Write("r.json", EncryptBody), "--api", "GetHealthStatus");

        Assert.Equal(0, exit);
        Assert.Contains("never subject to secondary authorization", _out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OnAValidPolicy_ExitsZero()
    {
        Assert.Equal(0, Run("policy", "check", "--policy", Write("p.json", Policy)));
        Assert.Contains("OK (2 rules, default deny)", _out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Check_OnAnInvalidPolicy_ExitsOneAndListsEveryProblem()
    {
        string file = Write("p.json", """{ "default": "deny", "rules": [ { "id": "a", "effect": "allow" }, { "id": "a", "effect": "allow", "keyId": ["x"] } ] }""");

        Assert.Equal(1, Run("check", "--policy", file));
        Assert.Contains("INVALID (2 problems)", _err.ToString(), StringComparison.Ordinal);
        Assert.Contains("rules[1].keyId: unknown condition", _err.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("policy")]
    [InlineData("lint", "--policy", "x")]
    [InlineData("check")]
    [InlineData("check", "--policy")]
    [InlineData("explain", "--policy", "p.json", "--request", "r.json", "--api", "Encrypt")]
    [InlineData("explain", "--policy", "p.json", "--request", "r.json", "--api", "Sign", "--key", "foo")]
    public void Run_WithBadArguments_ExitsTwoWithUsage(params string[] args)
    {
        Assert.Equal(2, Run(args));
        Assert.NotEmpty(_err.ToString());
    }

    [Fact]
    public void Explain_WithAnInvalidRequestFile_ExitsTwo()
    {
        Assert.Equal(2, Run("explain", "--policy", Write("p.json", Policy), "--request", Write("r.json", "{ \"requestMetadata\": { \"kmsOperation\": 7 } }"), "--api", "Encrypt", "--key", "foo"));
        Assert.Contains("requestMetadata.kmsOperation must be a string", _err.ToString(), StringComparison.Ordinal);
    }

    private int Run(params string[] args) => PolicyCommand.Run(args, _out, _err);

    private string Write(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }
}
