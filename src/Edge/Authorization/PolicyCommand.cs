using System.Text.Json;

namespace XksGrpc.Edge.Authorization;

/// <summary>
/// The <c>policy</c> admin command (issue 5: "a command evaluates a sample request against a policy and
/// says which rule decides").
/// <code>
/// policy check   --policy &lt;file&gt;
/// policy explain --policy &lt;file&gt; --request &lt;request.json&gt; --api &lt;GetKeyMetadata|Encrypt|Decrypt|GetHealthStatus&gt; --key &lt;externalKeyId&gt; [--keystore &lt;name&gt;]
/// </code>
/// <c>--request</c> is an XKS request body (its <c>requestMetadata</c> is used; plaintext and the rest are
/// ignored and never printed) or a bare requestMetadata object.
/// Exit codes: check → 0 valid, 1 invalid; explain → 0 allowed, 1 denied; 2 usage or input error.
/// The leading word <c>policy</c> in <c>args</c> is optional.
/// </summary>
internal static class PolicyCommand
{
    public const int Allowed = 0;
    public const int DeniedOrInvalid = 1;
    public const int UsageError = 2;

    private const string Usage =
        "usage: policy check --policy <file>\n" +
        "       policy explain --policy <file> --request <request.json> --api <GetKeyMetadata|Encrypt|Decrypt|GetHealthStatus> --key <externalKeyId> [--keystore <name>]";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var rest = args.AsSpan();
        if (rest.Length > 0 && rest[0] == "policy")
        {
            rest = rest[1..];
        }

        if (rest.Length == 0)
        {
            stderr.WriteLine(Usage);
            return UsageError;
        }

        if (!TryParseOptions(rest[1..], out Dictionary<string, string> options, out string? optionError))
        {
            stderr.WriteLine($"{optionError}\n{Usage}");
            return UsageError;
        }

        return rest[0] switch
        {
            "check" => Check(options, stdout, stderr),
            "explain" => Explain(options, stdout, stderr),
            _ => Fail(stderr, $"unknown policy command \"{rest[0]}\"\n{Usage}"),
        };
    }

    private static int Check(Dictionary<string, string> options, TextWriter stdout, TextWriter stderr)
    {
        if (!Require(options, stderr, out string? file, "--policy"))
        {
            return UsageError;
        }

        if (!TryReadText(file, stderr, out string? json))
        {
            return UsageError;
        }

        if (!AuthorizationPolicy.TryParse(json, out AuthorizationPolicy? policy, out IReadOnlyList<string> errors))
        {
            stderr.WriteLine($"{file}: INVALID ({errors.Count} problem{(errors.Count == 1 ? "" : "s")})");
            foreach (string error in errors)
            {
                stderr.WriteLine($"  {error}");
            }

            return DeniedOrInvalid;
        }

        stdout.WriteLine($"{file}: OK ({policy!.Rules.Count} rules, default {(policy.DefaultAllows ? "allow" : "deny")})");
        return Allowed;
    }

    private static int Explain(Dictionary<string, string> options, TextWriter stdout, TextWriter stderr)
    {
        if (!Require(options, stderr, out string? file, "--policy")
            || !Require(options, stderr, out string? requestFile, "--request")
            || !Require(options, stderr, out string? api, "--api"))
        {
            return UsageError;
        }

        options.TryGetValue("--key", out string? key);
        if (api != XksApis.GetHealthStatus && !XksApis.Authorized.Contains(api))
        {
            return Fail(stderr, $"--api: unknown API \"{api}\" (expected GetKeyMetadata, Encrypt, Decrypt or GetHealthStatus)");
        }

        if (api != XksApis.GetHealthStatus && string.IsNullOrEmpty(key))
        {
            return Fail(stderr, $"--key is required for {api}");
        }

        if (!TryReadText(file, stderr, out string? policyJson) || !TryReadText(requestFile, stderr, out string? requestJson))
        {
            return UsageError;
        }

        if (!AuthorizationPolicy.TryParse(policyJson, out AuthorizationPolicy? policy, out IReadOnlyList<string> errors))
        {
            return Fail(stderr, $"{file}: INVALID policy:\n  " + string.Join("\n  ", errors));
        }

        if (!TryReadMetadata(requestJson, out Dictionary<string, string?>? metadata, out string? metadataError))
        {
            return Fail(stderr, $"{requestFile}: {metadataError}");
        }

        var request = new AuthorizationRequest(
            api,
            options.GetValueOrDefault("--keystore") ?? "(cli)",
            api == XksApis.GetHealthStatus ? null : key,
            metadata.GetValueOrDefault("awsPrincipalArn"),
            metadata.GetValueOrDefault("kmsOperation"),
            metadata.GetValueOrDefault("kmsViaService"),
            metadata.GetValueOrDefault("awsSourceVpc"),
            metadata.GetValueOrDefault("awsSourceVpce"),
            metadata.GetValueOrDefault("kmsKeyArn"));

        PolicyExplanation explanation = policy!.Explain(request);
        Print(file, policy, request, explanation, stdout);
        return explanation.Decision.Allowed ? Allowed : DeniedOrInvalid;
    }

    private static void Print(string file, AuthorizationPolicy policy, AuthorizationRequest request, PolicyExplanation explanation, TextWriter stdout)
    {
        stdout.WriteLine($"policy:  {file} ({policy.Rules.Count} rules, default {(policy.DefaultAllows ? "allow" : "deny")})");
        KmsKeyArn.TryParse(request.KmsKeyArn, out KmsKeyArn? arn);
        stdout.WriteLine($"request: api={request.Api} keyId={Show(request.KeyId)} keystore={request.Keystore}");
        stdout.WriteLine($"         awsPrincipalArn={Show(request.AwsPrincipalArn)} kmsOperation={Show(request.KmsOperation)} kmsViaService={Show(request.KmsViaService)}");
        stdout.WriteLine($"         awsSourceVpc={Show(request.AwsSourceVpc)} awsSourceVpce={Show(request.AwsSourceVpce)}");
        stdout.WriteLine($"         kmsKeyArn={Show(request.KmsKeyArn)} (account={Show(arn?.Account)} region={Show(arn?.Region)})");
        stdout.WriteLine();
        if (request.Api == XksApis.GetHealthStatus)
        {
            stdout.WriteLine("GetHealthStatus is never subject to secondary authorization; rules are not evaluated.");
        }
        else
        {
            foreach (RuleTrace rule in explanation.Rules)
            {
                string verdict = rule.Decisive ? "MATCH  <- decides" : rule.Matched ? "match (an earlier rule decided)" : "miss";
                stdout.WriteLine($"rule \"{rule.RuleId}\" ({rule.Effect}): {verdict}");
                if (rule.Conditions.Count == 0)
                {
                    stdout.WriteLine("    (no conditions: matches every request)");
                }

                foreach (ConditionTrace condition in rule.Conditions)
                {
                    string value = condition.RequestValue is null ? "(absent)" : $"\"{condition.RequestValue}\"";
                    stdout.WriteLine($"    {(condition.Matched ? "match" : "MISS "),-5} {condition.Name,-14} {value} vs [{string.Join(", ", condition.Patterns.Select(p => $"\"{p}\""))}]");
                }
            }

            if (!explanation.Rules.Any(r => r.Decisive))
            {
                stdout.WriteLine($"no rule matched: the default ({(policy.DefaultAllows ? "allow" : "deny")}) decides");
            }
        }

        stdout.WriteLine();
        AuthorizationDecision decision = explanation.Decision;
        stdout.WriteLine($"decision: {(decision.Allowed ? "ALLOW" : "DENY")} by {(decision.RuleId == AuthorizationDecision.DefaultRule ? "the default" : $"rule \"{decision.RuleId}\"")}"
            + (decision.Allowed ? string.Empty : " (403 AccessDeniedException)"));
        stdout.WriteLine($"reason:   {decision.Reason}");
    }

    private static string Show(string? value) => value ?? "(absent)";

    private static bool TryReadMetadata(string json, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Dictionary<string, string?>? metadata, out string? error)
    {
        metadata = null;
        error = null;
        try
        {
            using JsonDocument document = JsonDocument.Parse(json, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "the request must be a JSON object";
                return false;
            }

            JsonElement source = root.TryGetProperty("requestMetadata", out JsonElement nested) ? nested : root;
            if (source.ValueKind != JsonValueKind.Object)
            {
                error = "requestMetadata must be a JSON object";
                return false;
            }

            metadata = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (JsonProperty property in source.EnumerateObject())
            {
                if (property.Value.ValueKind == JsonValueKind.String)
                {
                    metadata[property.Name] = property.Value.GetString();
                }
                else if (property.Value.ValueKind != JsonValueKind.Null)
                {
                    error = $"requestMetadata.{property.Name} must be a string";
                    return false;
                }
            }

            return true;
        }
        catch (JsonException ex)
        {
            error = $"invalid JSON at line {ex.LineNumber + 1}";
            return false;
        }
    }

    private static bool TryParseOptions(ReadOnlySpan<string> args, out Dictionary<string, string> options, out string? error)
    {
        options = new Dictionary<string, string>(StringComparer.Ordinal);
        error = null;
        for (int i = 0; i < args.Length; i++)
        {
            string name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                error = $"expected \"--option value\" at \"{name}\"";
                return false;
            }

            options[name] = args[++i];
        }

        return true;
    }

    private static bool Require(Dictionary<string, string> options, TextWriter stderr, out string value, string name)
    {
        if (options.TryGetValue(name, out string? found) && found.Length > 0)
        {
            value = found;
            return true;
        }

        value = string.Empty;
        stderr.WriteLine($"{name} is required\n{Usage}");
        return false;
    }

    private static bool TryReadText(string file, TextWriter stderr, out string text)
    {
        try
        {
            text = File.ReadAllText(file);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{file}: cannot read: {ex.Message}");
            text = string.Empty;
            return false;
        }
    }

    private static int Fail(TextWriter stderr, string message)
    {
        stderr.WriteLine(message);
        return UsageError;
    }
}
