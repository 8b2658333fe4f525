using XksGrpc.Edge.Authorization;
using static XksGrpc.Edge.Tests.Authorization.PolicyTestData;

namespace XksGrpc.Edge.Tests.Authorization;

public sealed class PolicyStoreTests : IDisposable
{
    private const string AllowFoo = """{ "default": "deny", "rules": [ { "id": "allow-foo", "effect": "allow", "keyIds": ["foo"] } ] }""";
    private const string DenyFoo = """{ "default": "allow", "rules": [ { "id": "deny-foo", "effect": "deny", "keyIds": ["foo"] } ] }""";
    private const string Broken = """{ "default": "deny", "rules": [ { "id": "r1", "effect": "permit" } ] }""";

    private readonly string _dir = Directory.CreateTempSubdirectory("xks-policy-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public void Evaluate_ForAKeystoreWithoutPolicy_Allows()
    {
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?> { ["ks1"] = null });

        AuthorizationDecision decision = store.Evaluate(Request());

        Assert.True(decision.Allowed);
        Assert.Equal(AuthorizationDecision.NoPolicyRule, decision.RuleId);
        Assert.Null(store.GetStatus("ks1"));
    }

    [Fact]
    public void Evaluate_UsesThePolicyOfTheRequestsKeystore()
    {
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?>
        {
            ["ks1"] = Write("ks1.json", AllowFoo),
            ["ks2"] = Write("ks2.json", DenyFoo),
        });

        Assert.Equal("allow-foo", store.Evaluate(Request(keystore: "ks1")).RuleId);
        Assert.Equal("deny-foo", store.Evaluate(Request(keystore: "ks2")).RuleId);
        Assert.False(store.Evaluate(Request(keystore: "ks2")).Allowed);
    }

    [Fact]
    public void Evaluate_GetHealthStatus_IsHealthExemptEvenWhenThePolicyIsUnavailable()
    {
        using var store = new PolicyStore();
        store.Configure(new Dictionary<string, string?> { ["ks1"] = Write("ks1.json", Broken) });

        Assert.False(store.Evaluate(Request()).Allowed);
        Assert.Equal(AuthorizationDecision.HealthExemptRule, store.Evaluate(Request(api: XksApis.GetHealthStatus, keyId: null)).RuleId);
    }

    [Fact]
    public void Create_WithAnInvalidFile_RefusesWithEveryProblem()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => PolicyStore.Create(new Dictionary<string, string?>
        {
            ["ks1"] = Write("ks1.json", Broken),
            ["ks2"] = Path.Combine(_dir, "missing.json"),
        }));

        Assert.Contains("ks1", ex.Message, StringComparison.Ordinal);
        Assert.Contains("rules[0].effect", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ks2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cannot read", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Configure_WithAFileThatNeverLoaded_FailsClosed()
    {
        using var store = new PolicyStore();

        PolicyLoadResult result = Assert.Single(store.Configure(new Dictionary<string, string?> { ["ks1"] = Write("ks1.json", Broken) }));
        AuthorizationDecision decision = store.Evaluate(Request());

        Assert.False(result.Accepted);
        Assert.False(result.PolicyInForce);
        Assert.False(decision.Allowed);
        Assert.Equal(AuthorizationDecision.PolicyUnavailableRule, decision.RuleId);
    }

    [Fact]
    public void CheckForChanges_AfterAValidEdit_SwapsInTheNewPolicy()
    {
        string file = Write("ks1.json", AllowFoo);
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?> { ["ks1"] = file }, pollInterval: TimeSpan.FromHours(1));
        var loaded = new List<PolicyLoadResult>();
        store.Loaded += loaded.Add;

        File.WriteAllText(file, DenyFoo);
        store.CheckForChanges();

        Assert.Equal("deny-foo", store.Evaluate(Request()).RuleId);
        PolicyLoadResult result = Assert.Single(loaded);
        Assert.True(result.Accepted);
        Assert.Equal(1, result.RuleCount);
        Assert.Equal(0, store.RejectedReloads);
    }

    [Fact]
    public void CheckForChanges_AfterAnInvalidEdit_KeepsTheLastGoodPolicyAndCountsOneRejection()
    {
        string file = Write("ks1.json", AllowFoo);
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?> { ["ks1"] = file }, pollInterval: TimeSpan.FromHours(1));

        File.WriteAllText(file, Broken);
        PolicyLoadResult result = Assert.Single(store.CheckForChanges());
        Assert.Empty(store.CheckForChanges()); // the same bad content is not counted twice

        Assert.False(result.Accepted);
        Assert.True(result.PolicyInForce);
        Assert.Equal("allow-foo", store.Evaluate(Request()).RuleId);
        Assert.Equal(1, store.RejectedReloads);
        Assert.Contains("rules[0].effect", store.LastError, StringComparison.Ordinal);
        PolicyStatus status = store.GetStatus("ks1")!;
        Assert.True(status.InForce);
        Assert.NotNull(status.LastError);

        File.WriteAllText(file, DenyFoo);
        store.CheckForChanges();
        Assert.Equal("deny-foo", store.Evaluate(Request()).RuleId);
        Assert.Null(store.GetStatus("ks1")!.LastError);
    }

    [Fact]
    public void CheckForChanges_WhenTheFileIsDeleted_KeepsTheLastGoodPolicy()
    {
        string file = Write("ks1.json", AllowFoo);
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?> { ["ks1"] = file }, pollInterval: TimeSpan.FromHours(1));

        File.Delete(file);
        store.CheckForChanges();

        Assert.Equal("allow-foo", store.Evaluate(Request()).RuleId);
        Assert.Equal(1, store.RejectedReloads);
    }

    [Fact]
    public async Task AnEditOnDisk_IsPickedUpWithoutACall_WithinSeconds()
    {
        string file = Write("ks1.json", AllowFoo);
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?> { ["ks1"] = file }, pollInterval: TimeSpan.FromMilliseconds(200));

        // Write through a rename, as editors and config management do.
        string temp = Write("ks1.json.tmp", DenyFoo);
        File.Move(temp, file, overwrite: true);

        await WaitUntil(() => store.Evaluate(Request()).RuleId == "deny-foo");
    }

    [Fact]
    public async Task AnInvalidEditOnDisk_IsRejectedWithoutACall_AndTheLastGoodPolicyStays()
    {
        string file = Write("ks1.json", AllowFoo);
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?> { ["ks1"] = file }, pollInterval: TimeSpan.FromMilliseconds(200));

        File.WriteAllText(file, "{ not json");

        await WaitUntil(() => store.RejectedReloads == 1);
        Assert.Equal("allow-foo", store.Evaluate(Request()).RuleId);
        Assert.Contains("invalid JSON", store.LastError, StringComparison.Ordinal);
    }

    [Fact]
    public void Configure_ChangingAKeystoresFile_LoadsTheNewFileAndDropsRemovedKeystores()
    {
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?>
        {
            ["ks1"] = Write("a.json", AllowFoo),
            ["ks2"] = Write("b.json", AllowFoo),
        });

        IReadOnlyList<PolicyLoadResult> results = store.Configure(new Dictionary<string, string?> { ["ks1"] = Write("c.json", DenyFoo) });

        Assert.True(Assert.Single(results).Accepted);
        Assert.Equal("deny-foo", store.Evaluate(Request(keystore: "ks1")).RuleId);
        Assert.Equal(AuthorizationDecision.NoPolicyRule, store.Evaluate(Request(keystore: "ks2")).RuleId);
    }

    [Fact]
    public async Task Evaluate_WhileReloading_NeverFailsOrSeesAHalfLoadedPolicy()
    {
        string file = Write("ks1.json", AllowFoo);
        using PolicyStore store = PolicyStore.Create(new Dictionary<string, string?> { ["ks1"] = file }, pollInterval: TimeSpan.FromHours(1));
        using var stop = new CancellationTokenSource();
        var seen = new System.Collections.Concurrent.ConcurrentDictionary<string, bool>();
        Task reader = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                seen[store.Evaluate(Request()).RuleId] = true;
            }
        });

        for (int i = 0; i < 50; i++)
        {
            File.WriteAllText(file, i % 2 == 0 ? DenyFoo : AllowFoo);
            store.CheckForChanges();
        }

        stop.Cancel();
        await reader;
        Assert.Subset(new HashSet<string> { "allow-foo", "deny-foo" }, seen.Keys.ToHashSet());
    }

    private string Write(string name, string content)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, content);
        return path;
    }

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for the reload");
            await Task.Delay(50);
        }
    }
}
