using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Observability;

/// <summary>
/// The real broker and the real edge as two processes (as the lab runs them), each with its
/// management listener on a port of its own, after a known set of signed requests: a success, a
/// missing key (404), a bad signature (401), an oversized body, and a keystore over its quota (429).
/// </summary>
public sealed class RealProcessesFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xksgrpc-obs-").FullName;

    internal ProgramProcess Broker { get; private set; } = null!;

    internal ProgramProcess Edge { get; private set; } = null!;

    internal XksClient Client { get; private set; } = null!;

    internal HttpClient Http { get; } = new() { Timeout = TimeSpan.FromSeconds(10) };

    internal int XksPort { get; } = ProgramProcess.FreePort();

    internal int EdgeManagementPort { get; } = ProgramProcess.FreePort();

    internal int BrokerManagementPort { get; } = ProgramProcess.FreePort();

    internal TestCredential Ks1 => EdgeHost.DefaultCredentials[0];

    internal TestCredential Ks2 => EdgeHost.DefaultCredentials[2];

    internal string EncryptRequestId { get; private set; } = "";

    internal string MissingKeyRequestId { get; private set; } = "";

    internal byte[] Plaintext { get; } = Encoding.ASCII.GetBytes("observability plaintext never in a label");

    internal List<XksClient.Reply> Replies { get; } = [];

    public async Task InitializeAsync()
    {
        var pki = TestPki.Create(_directory);
        var brokerConfig = await RealBroker.WriteConfigAsync(Path.Combine(_directory, "broker"), broker =>
        {
            broker["Broker"]!["Management"] = new JsonObject { ["Address"] = "127.0.0.1", ["Port"] = BrokerManagementPort };
            // Successful calls are logged at Debug (one line per request would cost throughput).
            broker["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["XksGrpc.Broker.Service"] = "Debug" } };
        });
        var edgeConfig = EdgeHost.WriteConfig(_directory, RealBroker.SocketPathIn(Path.Combine(_directory, "broker")), EdgeHost.DefaultCredentials, edge =>
        {
            edge["Edge"]!["Listen"]!["Port"] = XksPort;
            edge["Edge"]!["Management"] = new JsonObject { ["Address"] = "127.0.0.1", ["Port"] = EdgeManagementPort };
            edge["Edge"]!["Keystores"]![1]!["RateLimit"] = new JsonObject { ["PermitsPerSecond"] = 1, ["Burst"] = 1 };
        });

        Broker = ProgramProcess.Start("XksGrpc.Broker", brokerConfig, new Dictionary<string, string> { ["SOFTHSM2_CONF"] = RealBroker.SoftHsmConf });
        await Broker.WaitUntilAsync(async () => (await Http.GetAsync(ManagementUri(BrokerManagementPort, "/healthz"))).IsSuccessStatusCode, TimeSpan.FromSeconds(60));
        Edge = ProgramProcess.Start("XksGrpc.Edge", edgeConfig);
        Client = new XksClient(new Uri($"https://127.0.0.1:{XksPort}"), pki.Ca);
        await Edge.WaitUntilAsync(async () => (await Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(Client.BaseAddress, "/ping")))).Status == HttpStatusCode.OK,
            TimeSpan.FromSeconds(60));

        // A loaded test machine may miss the 200 ms deadline on the very first calls (JIT): retry until the success lands.
        // Each attempt has its own kmsRequestId: a timed-out attempt may still be logged by the broker later.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            EncryptRequestId = "obs-encrypt-" + Guid.NewGuid().ToString("N");
            var encrypt = XksBodies.Encrypt(Plaintext, aad: Encoding.ASCII.GetBytes("aad never in a label"));
            encrypt["requestMetadata"]!["kmsRequestId"] = EncryptRequestId;
            var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", encrypt.ToJsonString(), Ks1);
            Replies.Add(reply);
            if (reply.Status == HttpStatusCode.OK)
            {
                break;
            }
        }

        for (var attempt = 0; attempt < 10; attempt++)
        {
            MissingKeyRequestId = "obs-missing-" + Guid.NewGuid().ToString("N");
            var metadata = new JsonObject { ["requestMetadata"] = XksBodies.Metadata("DescribeKey", MissingKeyRequestId) };
            var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/absent_key/metadata", metadata.ToJsonString(), Ks1);
            Replies.Add(reply);
            if (reply.Status == HttpStatusCode.NotFound)
            {
                break;
            }
        }

        var forged = Ks1 with { Secret = Convert.ToBase64String(new byte[32]) };
        Replies.Add(await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), forged));
        Replies.Add(await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", new string(' ', 70_000) + XksBodies.KeyMetadata(), Ks1,
            tamper: request => request.Headers.ExpectContinue = true));
        for (var i = 0; i < 4; i++)
        {
            Replies.Add(await Client.PostAsync("/ks2/kms/xks/v1/health", XksBodies.Health(), Ks2));
        }
    }

    internal static Uri ManagementUri(int port, string path) => new($"http://127.0.0.1:{port}{path}");

    internal async Task<PrometheusScrape> ScrapeAsync(int port)
    {
        using var response = await Http.GetAsync(ManagementUri(port, "/metrics"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        return PrometheusScrape.Parse(await response.Content.ReadAsStringAsync());
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        Http.Dispose();
        if (Edge is not null)
        {
            await Edge.DisposeAsync();
        }

        if (Broker is not null)
        {
            await Broker.DisposeAsync();
        }

        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

public sealed class ManagementAndTracingTests(RealProcessesFixture fixture) : IClassFixture<RealProcessesFixture>
{
    [Fact]
    public void TheRequestsOfTheFixture_GotTheExpectedAnswers()
    {
        Assert.Contains(fixture.Replies, r => r.Status == HttpStatusCode.OK);
        Assert.Contains(fixture.Replies, r => r.Status == HttpStatusCode.NotFound && r.ErrorName == "KeyNotFoundException");
        Assert.Contains(fixture.Replies, r => r.Status == HttpStatusCode.Unauthorized && r.ErrorName == "AuthenticationFailedException");
        Assert.Contains(fixture.Replies, r => r.Status == HttpStatusCode.NotImplemented && r.ErrorName == "UnsupportedOperationException");
        Assert.Contains(fixture.Replies, r => r.Status == HttpStatusCode.TooManyRequests && r.ErrorName == "ThrottlingException");
    }

    [Fact]
    public async Task EdgeMetrics_CountRequestsByApiKeystoreAndOutcome_WithLatencyHistogramsInSeconds()
    {
        var scrape = await fixture.ScrapeAsync(fixture.EdgeManagementPort);

        Assert.True(scrape.Value("xksgrpc_edge_requests_total", "xks_api=Encrypt", "xks_keystore=ks1", "xks_outcome=Success") >= 1);
        Assert.True(scrape.Value("xksgrpc_edge_requests_total", "xks_api=GetKeyMetadata", "xks_keystore=ks1", "xks_outcome=KeyNotFoundException") >= 1);
        Assert.True(scrape.Value("xksgrpc_edge_requests_total", "xks_api=GetKeyMetadata", "xks_keystore=ks1", "xks_outcome=AuthenticationFailedException") >= 1);
        Assert.True(scrape.Value("xksgrpc_edge_requests_total", "xks_api=GetHealthStatus", "xks_keystore=ks2", "xks_outcome=ThrottlingException") >= 1);

        // Explicit buckets from 100 µs: a sub-millisecond bucket exists, and the count matches the counter.
        var successes = scrape.Value("xksgrpc_edge_requests_total", "xks_api=Encrypt", "xks_keystore=ks1", "xks_outcome=Success");
        Assert.Single(scrape.Find("xksgrpc_edge_request_duration_seconds_bucket", "xks_api=Encrypt", "xks_outcome=Success", "le=0.00025"));
        Assert.Single(scrape.Find("xksgrpc_edge_request_duration_seconds_bucket", "xks_api=Encrypt", "xks_outcome=Success", "le=0.25"));
        Assert.Equal(successes, scrape.Value("xksgrpc_edge_request_duration_seconds_count", "xks_api=Encrypt", "xks_keystore=ks1", "xks_outcome=Success"));
        var sum = scrape.Value("xksgrpc_edge_request_duration_seconds_sum", "xks_api=Encrypt", "xks_keystore=ks1", "xks_outcome=Success");
        Assert.InRange(sum / successes, 0.00001, 1.0);
        Assert.True(scrape.Value("xksgrpc_edge_broker_duration_seconds_count", "xks_api=Encrypt") >= 1);

        // .NET runtime and Kestrel connection metrics ride along (README, "Metrics").
        Assert.True(scrape.Value("dotnet_process_memory_working_set_bytes") > 0);
        Assert.NotEmpty(scrape.Find("kestrel_active_connections"));
        Assert.Equal("xksgrpc-edge", scrape.Find("target_info").Single().Labels["service_name"]);
    }

    [Fact]
    public async Task EdgeMetrics_CountThrottledAndRejected_AndPublishCredentialAgeAndCertificateExpiry()
    {
        var scrape = await fixture.ScrapeAsync(fixture.EdgeManagementPort);

        Assert.True(scrape.Value("xksgrpc_edge_throttled_total", "xks_keystore=ks2", "xks_reason=keystore_quota") >= 1);
        Assert.True(scrape.Value("xksgrpc_edge_rejected_total", "xks_keystore=ks1", "xks_reason=authentication") >= 1);
        Assert.True(scrape.Value("xksgrpc_edge_rejected_total", "xks_keystore=ks1", "xks_reason=oversized") >= 1);

        foreach (var credential in EdgeHost.DefaultCredentials)
        {
            var age = scrape.Value("xksgrpc_edge_credential_age_seconds", $"xks_keystore={credential.Keystore}", $"xks_access_key_id={credential.AccessKeyId}");
            Assert.InRange(age, 0, 3600);
        }

        // TestPki issues the server certificate for 90 days.
        Assert.InRange(scrape.Value("xksgrpc_edge_tls_certificate_time_to_expiry_days"), 89, 90.01);
    }

    [Fact]
    public async Task NoScrape_CarriesASecretPlaintextOrAad()
    {
        foreach (var port in new[] { fixture.EdgeManagementPort, fixture.BrokerManagementPort })
        {
            var text = (await fixture.ScrapeAsync(port)).Text;
            foreach (var credential in EdgeHost.DefaultCredentials)
            {
                Assert.DoesNotContain(credential.Secret, text, StringComparison.Ordinal);
            }

            Assert.DoesNotContain("observability plaintext", text, StringComparison.Ordinal);
            Assert.DoesNotContain(Convert.ToBase64String(fixture.Plaintext), text, StringComparison.Ordinal);
            Assert.DoesNotContain("aad never", text, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task BrokerMetrics_CountCalls_AndPublishHsmLatencySessionsAndHealth()
    {
        var scrape = await fixture.ScrapeAsync(fixture.BrokerManagementPort);

        Assert.True(scrape.Value("xksgrpc_broker_requests_total", "xks_api=Encrypt", "xks_outcome=Success") >= 1);
        Assert.True(scrape.Value("xksgrpc_broker_requests_total", "xks_api=GetKeyMetadata", "xks_outcome=KeyNotFoundException") >= 1);
        Assert.True(scrape.Value("xksgrpc_broker_request_duration_seconds_count", "xks_api=Encrypt", "xks_outcome=Success") >= 1);
        Assert.True(scrape.Value("xksgrpc_broker_hsm_operation_duration_seconds_count", "hsm_token=hsm-1", "hsm_operation=encrypt") >= 1);
        Assert.Single(scrape.Find("xksgrpc_broker_hsm_operation_duration_seconds_bucket", "hsm_operation=encrypt", "le=0.0001"));
        Assert.True(scrape.Value("xksgrpc_broker_hsm_session_wait_duration_seconds_count", "hsm_token=hsm-1") >= 1);

        var idle = scrape.Value("xksgrpc_broker_hsm_sessions_idle", "hsm_token=hsm-1");
        var inUse = scrape.Value("xksgrpc_broker_hsm_sessions_in_use", "hsm_token=hsm-1");
        Assert.Equal(8, idle + inUse);

        var health = scrape.Find("xksgrpc_broker_hsm_health", "hsm_token=hsm-1");
        Assert.Equal(["ACTIVE", "DEGRADED", "UNAVAILABLE"], health.Select(s => s.Labels["hsm_health"]).Order(StringComparer.Ordinal));
        Assert.Equal(1, health.Sum(s => s.Value));
    }

    [Fact]
    public async Task MetricsAreNotServedOnTheXksPort_AndXksIsNotServedOnTheManagementPort()
    {
        var onXks = await fixture.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Client.BaseAddress, "/metrics")));
        Assert.Equal(HttpStatusCode.NotFound, onXks.Status);
        Assert.Equal("InvalidUriPathException", onXks.ErrorName);
        Assert.DoesNotContain("xksgrpc_", onXks.Body, StringComparison.Ordinal);

        using var xksOnManagement = await fixture.Http.PostAsync(RealProcessesFixture.ManagementUri(fixture.EdgeManagementPort, "/ks1/kms/xks/v1/health"),
            new StringContent(XksBodies.Health(), Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.NotFound, xksOnManagement.StatusCode);
        using var pingOnManagement = await fixture.Http.GetAsync(RealProcessesFixture.ManagementUri(fixture.EdgeManagementPort, "/ping"));
        Assert.Equal(HttpStatusCode.NotFound, pingOnManagement.StatusCode);
        using var grpcOnManagement = await fixture.Http.PostAsync(RealProcessesFixture.ManagementUri(fixture.BrokerManagementPort, "/xksgrpc.broker.v1.XksBroker/GetHealthStatus"),
            new ByteArrayContent([0, 0, 0, 0, 0]));
        Assert.Equal(HttpStatusCode.NotFound, grpcOnManagement.StatusCode);

        foreach (var port in new[] { fixture.EdgeManagementPort, fixture.BrokerManagementPort })
        {
            using var healthz = await fixture.Http.GetAsync(RealProcessesFixture.ManagementUri(port, "/healthz"));
            Assert.Equal(HttpStatusCode.OK, healthz.StatusCode);
        }
    }

    [Fact]
    public async Task OneRequest_CarriesTheSameTraceIdAndKmsRequestId_InTheLogsOfEdgeAndBroker()
    {
        await AssertCorrelated(fixture.EncryptRequestId, brokerEventId: 100);
        await AssertCorrelated(fixture.MissingKeyRequestId, brokerEventId: 101);
    }

    private async Task AssertCorrelated(string kmsRequestId, int brokerEventId)
    {
        var edge = await fixture.Edge.LogLineAsync(line => EventId(line) == 1 && KmsRequestId(line) == kmsRequestId
            && line.GetProperty("State").GetProperty("Status").GetInt32() is 200 or 404);
        var broker = await fixture.Broker.LogLineAsync(line => EventId(line) == brokerEventId && KmsRequestId(line) == kmsRequestId);

        var (edgeTrace, edgeSpan, _) = Activity(edge);
        var (brokerTrace, brokerSpan, brokerParent) = Activity(broker);
        Assert.Matches("^[0-9a-f]{32}$", edgeTrace);
        Assert.NotEqual(new string('0', 32), edgeTrace);
        Assert.Equal(edgeTrace, brokerTrace);
        Assert.Equal(edgeTrace, edge.GetProperty("State").GetProperty("TraceId").GetString());
        Assert.Equal(edgeTrace, broker.GetProperty("State").GetProperty("TraceId").GetString());

        // The broker's span continues the edge's trace: its parent is a span of the edge, never none.
        Assert.Matches("^[0-9a-f]{16}$", edgeSpan);
        Assert.Matches("^[0-9a-f]{16}$", brokerSpan);
        Assert.NotEqual(edgeSpan, brokerSpan);
        Assert.NotEqual(new string('0', 16), brokerParent);
    }

    private static int EventId(JsonElement line) => line.GetProperty("EventId").GetInt32();

    private static string? KmsRequestId(JsonElement line)
        => line.TryGetProperty("State", out var state) && state.TryGetProperty("KmsRequestId", out var id) ? id.GetString() : null;

    /// <summary>TraceId, SpanId and ParentId from the activity scope the logger adds (ActivityTrackingOptions).</summary>
    private static (string TraceId, string SpanId, string ParentId) Activity(JsonElement line)
    {
        foreach (var scope in line.GetProperty("Scopes").EnumerateArray())
        {
            if (scope.ValueKind == JsonValueKind.Object && scope.TryGetProperty("TraceId", out var trace))
            {
                return (trace.GetString()!, scope.GetProperty("SpanId").GetString()!, scope.GetProperty("ParentId").GetString()!);
            }
        }

        throw new Xunit.Sdk.XunitException("No activity scope in the log line: " + line);
    }
}
