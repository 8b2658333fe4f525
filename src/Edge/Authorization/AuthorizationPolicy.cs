using System.Text.Json;

namespace XksGrpc.Edge.Authorization;

/// <summary>
/// A compiled secondary-authorization policy for one keystore (spec "Authorization": the proxy
/// MAY add fine-grained controls using requestMetadata; spec Appendix B: the vendor defines the
/// policy language and the fields it can use).
/// </summary>
/// <remarks>
/// <para><b>Policy file reference.</b> One JSON file per keystore (comments and trailing commas allowed):</para>
/// <code>
/// {
///   "default": "deny",                       // REQUIRED: "allow" | "deny" when no rule matches
///   "description": "optional, ignored",
///   "rules": [                               // ordered; the FIRST matching rule decides
///     { "id": "ebs-only", "effect": "allow", // REQUIRED: unique non-empty id; "allow" | "deny"
///       "description": "optional, ignored",
///       "apis": ["Encrypt", "Decrypt"],      // the conditions below are all optional
///       "keyIds": ["foo", "team-a-*"],
///       "principals": ["arn:aws:iam::123456789012:role/*"],
///       "kmsOperations": ["GenerateDataKey*"],
///       "viaServices": ["ebs*"],
///       "sourceVpcs": ["vpc-0abc*"], "sourceVpces": ["vpce-*"],
///       "kmsKeyAccounts": ["123456789012"], "kmsKeyRegions": ["us-east-1"],
///       "kmsKeyArns": ["arn:aws:kms:us-east-1:123456789012:key/*"] }
///   ]
/// }
/// </code>
/// <list type="bullet">
/// <item>A rule matches when every condition it lists matches; a condition matches when ANY of its
/// values matches the request field. A rule with no condition matches every request.</item>
/// <item>Values are case-sensitive globs: <c>*</c> = any run of characters, <c>?</c> = one character.</item>
/// <item>A condition on a field the request does not carry (e.g. <c>viaServices</c> when
/// kmsViaService is absent, <c>kmsKeyAccounts</c> when kmsKeyArn does not parse) does NOT match.</item>
/// <item>Fields: apis → the XKS API (GetKeyMetadata | Encrypt | Decrypt); keyIds → the external key id in
/// the URI; principals → awsPrincipalArn; kmsOperations → kmsOperation; viaServices → kmsViaService;
/// sourceVpcs → awsSourceVpc; sourceVpces → awsSourceVpce; kmsKeyArns → kmsKeyArn; kmsKeyAccounts and
/// kmsKeyRegions → the account and region of kmsKeyArn (<c>arn:aws:kms:REGION:ACCOUNT:key/ID</c>).</item>
/// <item>GetHealthStatus is never subject to a policy: <see cref="Evaluate"/> answers Allow with rule
/// <c>"(health exempt)"</c>, and naming it in <c>apis</c> is an error.</item>
/// <item>A file with bad JSON, an unknown property or condition name, a missing/unknown effect or
/// default, an empty or duplicate rule id, or an empty value list is rejected as a whole.</item>
/// </list>
/// </remarks>
internal sealed class AuthorizationPolicy
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        MaxDepth = 16,
    };

    private readonly PolicyRule[] _rules;
    private readonly bool _needsArn;

    private AuthorizationPolicy(bool defaultAllows, PolicyRule[] rules)
    {
        DefaultAllows = defaultAllows;
        _rules = rules;
        _needsArn = rules.Any(r => r.Conditions.Any(c => c.Field is PolicyField.KmsKeyAccount or PolicyField.KmsKeyRegion));
        DefaultDecision = new AuthorizationDecision(
            defaultAllows,
            AuthorizationDecision.DefaultRule,
            $"no rule matched; the policy default is {(defaultAllows ? "allow" : "deny")}");
    }

    /// <summary>Whether a request no rule matches is allowed.</summary>
    public bool DefaultAllows { get; }

    /// <summary>The rules, in evaluation order.</summary>
    public IReadOnlyList<PolicyRule> Rules => _rules;

    internal AuthorizationDecision DefaultDecision { get; }

    /// <summary>Parses and compiles a policy; on failure <paramref name="errors"/> lists every problem found.</summary>
    public static bool TryParse(string json, out AuthorizationPolicy? policy, out IReadOnlyList<string> errors)
    {
        var problems = new List<string>();
        policy = null;
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            problems.Add($"invalid JSON at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}: {FirstSentence(ex.Message)}");
            errors = problems;
            return false;
        }

        using (document)
        {
            policy = Compile(document.RootElement, problems);
        }

        if (problems.Count > 0)
        {
            policy = null;
        }

        errors = problems;
        return policy is not null;
    }

    /// <summary>
    /// Decides one request: the first rule whose conditions all match, else the default. Allocation-free;
    /// GetHealthStatus is always allowed (spec "GetHealthStatus": not subject to secondary authorization).
    /// </summary>
    public AuthorizationDecision Evaluate(AuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Api == XksApis.GetHealthStatus)
        {
            return AuthorizationDecision.HealthExempt;
        }

        KmsKeyArn? arn = null;
        if (_needsArn)
        {
            KmsKeyArn.TryParse(request.KmsKeyArn, out arn);
        }

        foreach (PolicyRule rule in _rules)
        {
            if (rule.Matches(request, arn))
            {
                return rule.Decision;
            }
        }

        return DefaultDecision;
    }

    /// <summary>Evaluates every rule and condition (for the <c>policy explain</c> command); slow path.</summary>
    public PolicyExplanation Explain(AuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        AuthorizationDecision decision = Evaluate(request);
        KmsKeyArn.TryParse(request.KmsKeyArn, out KmsKeyArn? arn);
        var traces = new List<RuleTrace>(_rules.Length);
        bool decided = request.Api == XksApis.GetHealthStatus;
        foreach (PolicyRule rule in _rules)
        {
            var conditions = rule.Conditions
                .Select(c => new ConditionTrace(c.Name, PolicyCondition.Read(c.Field, request, arn), c.Patterns.Select(p => p.Pattern).ToArray(), c.Matches(request, arn)))
                .ToArray();
            bool matched = conditions.All(c => c.Matched);
            traces.Add(new RuleTrace(rule.Id, rule.Allows ? "allow" : "deny", matched, matched && !decided, conditions));
            decided |= matched;
        }

        return new PolicyExplanation(decision, traces);
    }

    private static AuthorizationPolicy? Compile(JsonElement root, List<string> problems)
    {
        if (root.ValueKind != JsonValueKind.Object)
        {
            problems.Add("the policy must be a JSON object with \"default\" and \"rules\"");
            return null;
        }

        bool? defaultAllows = null;
        bool sawRules = false;
        var rules = new List<PolicyRule>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in root.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                problems.Add($"\"{property.Name}\": appears more than once");
                continue;
            }

            switch (property.Name)
            {
                case "default":
                    defaultAllows = ReadEffect(property.Value, "default", problems);
                    break;
                case "description":
                    if (property.Value.ValueKind != JsonValueKind.String)
                    {
                        problems.Add("description: must be a string");
                    }

                    break;
                case "rules":
                    sawRules = true;
                    CompileRules(property.Value, rules, problems);
                    break;
                default:
                    problems.Add($"\"{property.Name}\": unknown property (expected default, rules, description)");
                    break;
            }
        }

        if (!seen.Contains("default"))
        {
            problems.Add("default: required (\"allow\" or \"deny\")");
        }

        if (!sawRules)
        {
            problems.Add("rules: required (an array, possibly empty)");
        }

        return problems.Count == 0 && defaultAllows is bool allows ? new AuthorizationPolicy(allows, rules.ToArray()) : null;
    }

    private static void CompileRules(JsonElement array, List<PolicyRule> rules, List<string> problems)
    {
        if (array.ValueKind != JsonValueKind.Array)
        {
            problems.Add("rules: must be an array");
            return;
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        int index = 0;
        foreach (JsonElement element in array.EnumerateArray())
        {
            string where = $"rules[{index++}]";
            PolicyRule? rule = CompileRule(element, where, problems);
            if (element.ValueKind == JsonValueKind.Object
                && element.TryGetProperty("id", out JsonElement id)
                && id.ValueKind == JsonValueKind.String
                && !string.IsNullOrWhiteSpace(id.GetString())
                && !ids.Add(id.GetString()!))
            {
                problems.Add($"{where}.id: duplicate rule id \"{id.GetString()}\"");
                continue;
            }

            if (rule is not null)
            {
                rules.Add(rule);
            }
        }
    }

    private static PolicyRule? CompileRule(JsonElement element, string where, List<string> problems)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            problems.Add($"{where}: must be an object");
            return null;
        }

        int before = problems.Count;
        string? id = null;
        bool? allows = null;
        var conditions = new List<PolicyCondition>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (JsonProperty property in element.EnumerateObject())
        {
            if (!seen.Add(property.Name))
            {
                problems.Add($"{where}.{property.Name}: appears more than once");
                continue;
            }

            switch (property.Name)
            {
                case "id":
                    if (property.Value.ValueKind != JsonValueKind.String || string.IsNullOrWhiteSpace(property.Value.GetString()))
                    {
                        problems.Add($"{where}.id: must be a non-empty string");
                    }
                    else
                    {
                        id = property.Value.GetString();
                    }

                    break;
                case "effect":
                    allows = ReadEffect(property.Value, $"{where}.effect", problems);
                    break;
                case "description":
                    if (property.Value.ValueKind != JsonValueKind.String)
                    {
                        problems.Add($"{where}.description: must be a string");
                    }

                    break;
                default:
                    if (PolicyCondition.TryGetField(property.Name, out PolicyField field))
                    {
                        PolicyCondition? condition = PolicyCondition.Compile(property.Name, field, property.Value, $"{where}.{property.Name}", problems);
                        if (condition is not null)
                        {
                            conditions.Add(condition);
                        }
                    }
                    else
                    {
                        problems.Add($"{where}.{property.Name}: unknown condition (expected one of {string.Join(", ", PolicyCondition.Names)}, or id, effect, description)");
                    }

                    break;
            }
        }

        if (!seen.Contains("id"))
        {
            problems.Add($"{where}.id: required");
        }

        if (!seen.Contains("effect"))
        {
            problems.Add($"{where}.effect: required (\"allow\" or \"deny\")");
        }

        return problems.Count == before && id is not null && allows is bool a ? new PolicyRule(id, a, conditions.ToArray()) : null;
    }

    private static bool? ReadEffect(JsonElement value, string where, List<string> problems)
    {
        string? text = value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        switch (text)
        {
            case "allow":
                return true;
            case "deny":
                return false;
            default:
                problems.Add($"{where}: must be \"allow\" or \"deny\", got {value.GetRawText()}");
                return null;
        }
    }

    private static string FirstSentence(string message)
    {
        int dot = message.IndexOf(". ", StringComparison.Ordinal);
        return dot > 0 ? message[..(dot + 1)] : message;
    }
}

/// <summary>One compiled rule: an id, an effect and the conditions that must all match.</summary>
internal sealed class PolicyRule
{
    private readonly PolicyCondition[] _conditions;

    internal PolicyRule(string id, bool allows, PolicyCondition[] conditions)
    {
        Id = id;
        Allows = allows;
        _conditions = conditions;
        string on = conditions.Length == 0 ? "unconditional" : "on " + string.Join(", ", conditions.Select(c => c.Name));
        Decision = new AuthorizationDecision(allows, id, $"rule \"{id}\" ({on}) matched: {(allows ? "allow" : "deny")}");
    }

    public string Id { get; }

    public bool Allows { get; }

    public IReadOnlyList<PolicyCondition> Conditions => _conditions;

    /// <summary>The decision this rule gives when it matches, built once at load time.</summary>
    internal AuthorizationDecision Decision { get; }

    internal bool Matches(AuthorizationRequest request, KmsKeyArn? arn)
    {
        foreach (PolicyCondition condition in _conditions)
        {
            if (!condition.Matches(request, arn))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>The request field a condition reads.</summary>
internal enum PolicyField
{
    Api,
    KeyId,
    Principal,
    KmsOperation,
    ViaService,
    SourceVpc,
    SourceVpce,
    KmsKeyAccount,
    KmsKeyRegion,
    KmsKeyArn,
}

/// <summary>One condition of a rule: a request field and the globs any of which must match it.</summary>
internal sealed class PolicyCondition
{
    private static readonly (string Name, PolicyField Field)[] Table =
    [
        ("apis", PolicyField.Api),
        ("keyIds", PolicyField.KeyId),
        ("principals", PolicyField.Principal),
        ("kmsOperations", PolicyField.KmsOperation),
        ("viaServices", PolicyField.ViaService),
        ("sourceVpcs", PolicyField.SourceVpc),
        ("sourceVpces", PolicyField.SourceVpce),
        ("kmsKeyAccounts", PolicyField.KmsKeyAccount),
        ("kmsKeyRegions", PolicyField.KmsKeyRegion),
        ("kmsKeyArns", PolicyField.KmsKeyArn),
    ];

    private readonly GlobPattern[] _patterns;

    private PolicyCondition(string name, PolicyField field, GlobPattern[] patterns)
    {
        Name = name;
        Field = field;
        _patterns = patterns;
    }

    /// <summary>The condition names a rule may use, in documentation order.</summary>
    public static IEnumerable<string> Names => Table.Select(t => t.Name);

    public string Name { get; }

    public PolicyField Field { get; }

    public IReadOnlyList<GlobPattern> Patterns => _patterns;

    internal static bool TryGetField(string name, out PolicyField field)
    {
        foreach ((string n, PolicyField f) in Table)
        {
            if (n == name)
            {
                field = f;
                return true;
            }
        }

        field = default;
        return false;
    }

    internal static PolicyCondition? Compile(string name, PolicyField field, JsonElement value, string where, List<string> problems)
    {
        if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
        {
            problems.Add($"{where}: must be a non-empty array of strings");
            return null;
        }

        int before = problems.Count;
        var patterns = new List<GlobPattern>();
        int i = 0;
        foreach (JsonElement item in value.EnumerateArray())
        {
            string at = $"{where}[{i++}]";
            string? text = item.ValueKind == JsonValueKind.String ? item.GetString() : null;
            if (string.IsNullOrEmpty(text))
            {
                problems.Add($"{at}: must be a non-empty string");
                continue;
            }

            if (field == PolicyField.Api)
            {
                if (text == XksApis.GetHealthStatus)
                {
                    problems.Add($"{at}: GetHealthStatus is never subject to secondary authorization");
                    continue;
                }

                if (!text.AsSpan().ContainsAny('*', '?') && !XksApis.Authorized.Contains(text))
                {
                    problems.Add($"{at}: unknown API \"{text}\" (expected {string.Join(", ", XksApis.Authorized)})");
                    continue;
                }
            }

            patterns.Add(GlobPattern.Compile(text));
        }

        return problems.Count == before ? new PolicyCondition(name, field, patterns.ToArray()) : null;
    }

    /// <summary>The request's value for a field, or null when the request does not carry it.</summary>
    internal static string? Read(PolicyField field, AuthorizationRequest request, KmsKeyArn? arn) => field switch
    {
        PolicyField.Api => request.Api,
        PolicyField.KeyId => request.KeyId,
        PolicyField.Principal => request.AwsPrincipalArn,
        PolicyField.KmsOperation => request.KmsOperation,
        PolicyField.ViaService => request.KmsViaService,
        PolicyField.SourceVpc => request.AwsSourceVpc,
        PolicyField.SourceVpce => request.AwsSourceVpce,
        PolicyField.KmsKeyAccount => arn?.Account,
        PolicyField.KmsKeyRegion => arn?.Region,
        PolicyField.KmsKeyArn => request.KmsKeyArn,
        _ => null,
    };

    internal bool Matches(AuthorizationRequest request, KmsKeyArn? arn)
    {
        string? value = Read(Field, request, arn);
        if (value is null)
        {
            return false;
        }

        foreach (GlobPattern pattern in _patterns)
        {
            if (pattern.IsMatch(value))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Every rule's outcome for one request, and the decision (for <c>policy explain</c>).</summary>
internal sealed record PolicyExplanation(AuthorizationDecision Decision, IReadOnlyList<RuleTrace> Rules);

/// <summary>One rule's outcome: whether all its conditions matched and whether it was the deciding rule.</summary>
internal sealed record RuleTrace(string RuleId, string Effect, bool Matched, bool Decisive, IReadOnlyList<ConditionTrace> Conditions);

/// <summary>One condition's outcome: the request's value (null when absent), the patterns, and the result.</summary>
internal sealed record ConditionTrace(string Name, string? RequestValue, IReadOnlyList<string> Patterns, bool Matched);
