extern alias edge;

using System.Net;
using System.Text.Json.Nodes;
using XksGrpc.Integration.Tests.Infrastructure;
using EdgeCommandLine = edge::XksGrpc.Edge.Hosting.EdgeCommandLine;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>Per-keystore quotas (429), the one log line per request, and start-up refusal of a bad configuration.</summary>
public sealed class QuotaAndLoggingTests() : FakeBrokerTest("xksgrpc-quota-")
{
    [Fact]
    public async Task KeystoreOverItsQuota_IsThrottlingException_AndOtherKeystoresAreUnaffected()
    {
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials, root =>
            root["Edge"]!["Keystores"]![1]!["RateLimit"] = new JsonObject { ["PermitsPerSecond"] = 1, ["Burst"] = 2 });
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        using var client = new XksClient(edge.BaseAddress, Pki.Ca);
        var ks2 = EdgeHost.DefaultCredentials[2];

        var statuses = new List<HttpStatusCode>();
        XksClient.Reply? throttled = null;
        for (var i = 0; i < 5; i++)
        {
            var reply = await client.PostAsync("/ks2/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), ks2);
            statuses.Add(reply.Status);
            if (reply.Status == HttpStatusCode.TooManyRequests)
            {
                throttled = reply;
            }
        }

        Assert.NotNull(throttled);
        Assert.Equal("ThrottlingException", throttled.ErrorName);
        Assert.Equal("application/json", throttled.ContentType);
        var ks1 = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), EdgeHost.DefaultCredentials[0]);
        Assert.NotEqual(HttpStatusCode.TooManyRequests, ks1.Status);
    }

    [Fact]
    public async Task BrokerAtItsConcurrencyLimit_ShedsWithThrottlingException()
    {
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials, root =>
        {
            root["Edge"]!["Brokers"]!["MaxConcurrentRequestsPerBroker"] = 1;
            root["Edge"]!["Brokers"]!["Deadline"] = "00:00:00.250";
        });
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        using var client = new XksClient(edge.BaseAddress, Pki.Ca);
        await client.WaitUntilReadyAsync();
        Broker.State.Delay = TimeSpan.FromMilliseconds(150);

        var replies = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ =>
            client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), EdgeHost.DefaultCredentials[0], HttpVersion.Version20)));
        Broker.State.Delay = TimeSpan.Zero;

        Assert.Contains(replies, r => r.Status == HttpStatusCode.TooManyRequests && r.ErrorName == "ThrottlingException");
        Assert.All(replies, r => Assert.Equal("application/json", r.ContentType));
    }

    [Fact]
    public async Task KeystorePolicy_DeniesWithAccessDeniedNamingTheRule_AndNeverGatesHealth()
    {
        File.WriteAllText(Path.Combine(TestDirectory, "ks2.policy.json"),
            """{ "default": "deny", "rules": [ { "id": "allow-encrypt", "effect": "allow", "apis": ["Encrypt"] } ] }""");
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials, root =>
            root["Edge"]!["Keystores"]![1]!["PolicyFile"] = "ks2.policy.json");
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        using var client = new XksClient(edge.BaseAddress, Pki.Ca);
        await client.WaitUntilReadyAsync();
        var ks2 = EdgeHost.DefaultCredentials[2];

        var denied = await client.PostAsync("/ks2/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), ks2);
        Assert.Equal(HttpStatusCode.Forbidden, denied.Status);
        Assert.Equal("AccessDeniedException", denied.ErrorName);
        Assert.Contains("default", denied.Json["errorMessage"]!.GetValue<string>(), StringComparison.Ordinal);

        var encrypt = await client.PostAsync("/ks2/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1]).ToJsonString(), ks2);
        Assert.NotEqual(HttpStatusCode.Forbidden, encrypt.Status);
        var health = await client.PostAsync("/ks2/kms/xks/v1/health", XksBodies.Health(), ks2);
        Assert.NotEqual(HttpStatusCode.Forbidden, health.Status);
    }

    [Fact]
    public async Task AuditFile_GetsOneRecordPerRequest_WithoutThePlaintext()
    {
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials, root =>
            root["Edge"]!["Audit"] = new JsonObject { ["File"] = "audit/edge-audit.log" });
        Directory.CreateDirectory(Path.Combine(TestDirectory, "audit"));
        var requestId = "audit-" + Guid.NewGuid();
        await using (var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials))
        {
            using var client = new XksClient(edge.BaseAddress, Pki.Ca);
            await client.WaitUntilReadyAsync();
            var body = XksBodies.Encrypt("AUDIT-PLAINTEXT-MARKER"u8.ToArray());
            body["requestMetadata"]!["kmsRequestId"] = requestId;
            await client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", body.ToJsonString(), EdgeHost.DefaultCredentials[0]);
        }

        var text = File.ReadAllText(Path.Combine(TestDirectory, "audit", "edge-audit.log"));
        Assert.Single(text.Split('\n'), line => line.Contains(requestId, StringComparison.Ordinal));
        Assert.DoesNotContain("AUDIT-PLAINTEXT-MARKER", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String("AUDIT-PLAINTEXT-MARKER"u8.ToArray()), text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EachRequest_LogsOneLineWithItsMetadata_AndNeverThePlaintextAadOrSecret()
    {
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials);
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        using var client = new XksClient(edge.BaseAddress, Pki.Ca);
        await client.WaitUntilReadyAsync();
        var requestId = "log-test-" + Guid.NewGuid();
        var plaintext = "TOP-SECRET-PLAINTEXT-MARKER"u8.ToArray();
        var aad = "AAD-MARKER-VALUE"u8.ToArray();
        var body = XksBodies.Encrypt(plaintext, aad);
        body["requestMetadata"]!["kmsRequestId"] = requestId;

        var reply = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", body.ToJsonString(), EdgeHost.DefaultCredentials[0]);
        await Task.Delay(100);

        var lines = TestLogProvider.Lines.Where(l => l.EventId == 1 && l.Message.Contains(requestId, StringComparison.Ordinal)).ToList();
        var line = Assert.Single(lines).Message;
        Assert.Contains("XKS Encrypt keystore=ks1 key=foo", line, StringComparison.Ordinal);
        Assert.Contains("kmsOperation=Encrypt", line, StringComparison.Ordinal);
        Assert.Contains("awsPrincipalArn=" + XksBodies.PrincipalArn, line, StringComparison.Ordinal);
        Assert.Contains("kmsKeyArn=" + XksBodies.KeyArn, line, StringComparison.Ordinal);
        Assert.Contains(reply.Status == HttpStatusCode.OK ? "outcome=Success" : "outcome=", line, StringComparison.Ordinal);
        Assert.Contains("latencyMs=", line, StringComparison.Ordinal);

        var all = string.Join("\n", TestLogProvider.Lines.Select(l => l.Message));
        Assert.DoesNotContain("TOP-SECRET-PLAINTEXT-MARKER", all, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(plaintext), all, StringComparison.Ordinal);
        Assert.DoesNotContain(Convert.ToBase64String(aad), all, StringComparison.Ordinal);
        foreach (var credential in EdgeHost.DefaultCredentials)
        {
            Assert.DoesNotContain(credential.Secret, all, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task InvalidConfiguration_StopsTheEdgeNamingEverySetting()
    {
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials, root =>
        {
            root["Edge"]!["Proxy"]!["FleetSize"] = 0;
            root["Edge"]!["Brokers"]!["Deadline"] = "00:00:05";
            root["Edge"]!["Hsm"] = new JsonObject { ["PinFile"] = "secrets/pin" };
        });
        var stdout = new StringWriter();
        var stderr = new StringWriter();

        var exit = await EdgeCommandLine.RunAsync(["serve", "--config", config], stdout, stderr);

        Assert.Equal(EdgeCommandLine.ExitConfig, exit);
        var errors = stderr.ToString();
        Assert.Contains("Edge:Proxy:FleetSize", errors, StringComparison.Ordinal);
        Assert.Contains("Edge:Brokers:Deadline", errors, StringComparison.Ordinal);
        Assert.Contains("Edge:Hsm:PinFile", errors, StringComparison.Ordinal);
    }
}
