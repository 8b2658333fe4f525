using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace XksGrpc.Deploy.Tests.Lab;

/// <summary>
/// scripts/lab.sh against ../shared/CONTRACT.md: the state outside checks read, the demo keys, the
/// printed curl example, and supervision. One lab, started from nothing, serves the whole class.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class LabScriptTests(LabFixture fixture) : IClassFixture<LabFixture>
{
    private const string KmsClientSubject = "cks.kms.us-east-1.amazonaws.com";
    private readonly LabProcess _lab = fixture.Lab;

    [Fact]
    public void FirstRun_WritesOneKmsConsoleFilePerKeystoreCredential_InTheSpecsExactFormat()
    {
        var files = _lab.ConsoleFiles();
        Assert.Equal(["ks1-1", "ks1-2", "ks2-1"], files.Select(f => f.Name));
        foreach (var f in files)
        {
            Assert.Equal(["XksProxyUriPath", "XksProxyAuthenticationCredential"], f.TopLevelProperties);
            Assert.Equal(["AccessKeyId", "RawSecretAccessKey"], f.CredentialProperties);
            Assert.Matches("^/ks[12]/kms/xks/v1$", f.UriPath);
            Assert.Matches("^[A-Z2-7]{20,30}$", f.AccessKeyId);
            Assert.Matches("^[A-Za-z0-9+/=]{43,64}$", f.Secret);
            Assert.Equal(32, Convert.FromBase64String(f.Secret).Length);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_lab.StatePath($"kms/{f.Name}.json")));
        }

        Assert.Equal(2, files.Select(f => f.UriPath).Distinct().Count());
        Assert.Equal(3, files.Select(f => f.AccessKeyId).Distinct().Count());
    }

    [Fact]
    public void Secrets_AreReadableByTheirOwnerOnly()
    {
        var secrets = Directory.GetFiles(_lab.StatePath("secrets"));
        Assert.Contains(secrets, s => s.EndsWith("/pin", StringComparison.Ordinal));
        foreach (var file in secrets.Where(s => !s.EndsWith(".akid", StringComparison.Ordinal))
                     .Concat(Directory.GetFiles(_lab.StatePath("tls"), "*.key")))
        {
            Assert.True(File.GetUnixFileMode(file) == (UnixFileMode.UserRead | UnixFileMode.UserWrite), $"{file}: {File.GetUnixFileMode(file)}");
        }
    }

    [Fact]
    public void ServerCertificate_ChainsToCaPem_ForLocalhostAnd127001_AsATlsServer()
    {
        using var ca = X509Certificate2.CreateFromPem(File.ReadAllText(_lab.StatePath("tls/ca.pem")));
        using var server = X509Certificate2.CreateFromPemFile(_lab.StatePath("tls/server.pem"), _lab.StatePath("tls/server.key"));
        Assert.True(server.HasPrivateKey);
        var san = Assert.Single(server.Extensions.OfType<X509SubjectAlternativeNameExtension>());
        Assert.Contains("localhost", san.EnumerateDnsNames());
        Assert.Contains(System.Net.IPAddress.Loopback, san.EnumerateIPAddresses());
        Assert.Contains(server.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>(),
            o => o.Value == "1.3.6.1.5.5.7.3.1");
        AssertChainsTo(server, ca);
    }

    [Fact]
    public void ClientCertificate_IsTheKmsSubject_ChainedToTheClientCa_AsATlsClient()
    {
        using var clientCa = X509Certificate2.CreateFromPemFile(_lab.StatePath("tls/client-ca.pem"), _lab.StatePath("tls/client-ca.key"));
        using var client = X509Certificate2.CreateFromPemFile(_lab.StatePath("tls/client.pem"), _lab.StatePath("tls/client.key"));
        Assert.True(clientCa.HasPrivateKey, "tests mint their own client certificates with the client CA key");
        Assert.Equal(KmsClientSubject, client.GetNameInfo(X509NameType.SimpleName, forIssuer: false));
        Assert.Contains(client.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Cast<System.Security.Cryptography.Oid>(),
            o => o.Value == "1.3.6.1.5.5.7.3.2");
        AssertChainsTo(client, clientCa);
    }

    [Fact]
    public void PidFiles_NameTheRunningBrokerAndEdge()
    {
        Assert.Contains("XksGrpc.Broker.dll", Processes.CommandLine(_lab.Pid("broker")), StringComparison.Ordinal);
        Assert.Contains("XksGrpc.Edge.dll", Processes.CommandLine(_lab.Pid("edge")), StringComparison.Ordinal);
    }

    [Fact]
    public void BeforeReady_TheLabSentItsWarmUpLoad_ThroughEdgeBrokerAndToken()
    {
        // XKS_LAB_WARM_UP_SECONDS (default 2 s) of mixed load from bench/, after one call of each kind.
        using var audit = new StreamReader(new FileStream(_lab.StatePath("logs/audit.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        var lines = audit.ReadToEnd().Split('\n');
        var warmUp = lines.Count(l => l.Contains("\"awsPrincipalArn\":\"arn:aws:iam::123456789012:user/bench\"", StringComparison.Ordinal)
                                      && l.Contains("\"outcome\":\"ok\"", StringComparison.Ordinal));
        var apis = lines.Where(l => l.Contains("user/bench", StringComparison.Ordinal))
            .Select(l => JsonDocument.Parse(l).RootElement.GetProperty("api").GetString()).ToHashSet();
        Assert.True(warmUp >= 200, $"{warmUp} successful warm-up requests in the audit log");
        Assert.Superset(new HashSet<string?> { "Encrypt", "Decrypt", "GetKeyMetadata" }, apis);
        Assert.DoesNotContain("warm-up load", _lab.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ping_Answers200_WithoutAuthentication()
    {
        Assert.Equal(200, await XksCurl.PingAsync(_lab, withClientCertificate: false));
    }

    [Fact]
    public async Task ManagementPorts_ServeMetricsOfEdgeAndBroker_AndTheXksPortDoesNot()
    {
        // A program restarted by another test of this class starts its counters at zero: send one now.
        var health = await XksCurl.HealthAsync(_lab, _lab.ConsoleFile("ks1-1"));
        Assert.True(health.Status == 200, health.Raw);

        var edge = await Shell.RunAsync("curl", "-s", "--max-time", "10", $"http://127.0.0.1:{_lab.EdgeMetricsPort}/metrics");
        Assert.Contains("xksgrpc_edge_requests_total{", edge.StdOut, StringComparison.Ordinal);
        Assert.Contains("xks_api=\"GetHealthStatus\"", edge.StdOut, StringComparison.Ordinal);
        Assert.Contains("xksgrpc_edge_tls_certificate_time_to_expiry_days", edge.StdOut, StringComparison.Ordinal);

        var broker = await Shell.RunAsync("curl", "-s", "--max-time", "10", $"http://127.0.0.1:{_lab.BrokerMetricsPort}/metrics");
        Assert.Contains("xksgrpc_broker_hsm_health{", broker.StdOut, StringComparison.Ordinal);
        Assert.Contains("xksgrpc_broker_requests_total{", broker.StdOut, StringComparison.Ordinal);

        var onXksPort = await Shell.RunAsync("curl", "-s", "--max-time", "10", "-o", "/dev/null", "-w", "%{http_code}",
            "--cacert", _lab.StatePath("tls/ca.pem"), $"https://localhost:{_lab.Port}/metrics");
        Assert.Equal("404", onXksPort.StdOut);
        Assert.Contains($"http://127.0.0.1:{_lab.EdgeMetricsPort}/metrics", _lab.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("foo", true, true, "ENABLED")]
    [InlineData("encrypt_only_key", true, false, "ENABLED")]
    [InlineData("decrypt_only_key", false, true, "ENABLED")]
    [InlineData("impotent_key", false, false, "ENABLED")]
    [InlineData("disabled_key", true, true, "DISABLED")]
    public async Task DemoKey_HasTheContractsUsageAndStatus_InEveryKeystore(string keyId, bool encrypt, bool decrypt, string status)
    {
        foreach (var credential in new[] { _lab.ConsoleFile("ks1-1"), _lab.ConsoleFile("ks2-1") })
        {
            var response = await XksCurl.MetadataAsync(_lab, credential, keyId);
            Assert.True(response.Status == 200, $"{credential.Keystore}/{keyId}: {response.Status} {response.Raw}");
            Assert.Equal("AES_256", response.Body.GetProperty("keySpec").GetString());
            var usage = response.Body.GetProperty("keyUsage").EnumerateArray().Select(u => u.GetString()).ToList();
            Assert.Equal(encrypt, usage.Contains("ENCRYPT"));
            Assert.Equal(decrypt, usage.Contains("DECRYPT"));
            Assert.Equal(status, response.Body.GetProperty("keyStatus").GetString());
        }
    }

    [Fact]
    public async Task PrintedCurlExample_Encrypts_AndTheCiphertextDecrypts()
    {
        var line = _lab.Output.Split('\n').Single(l => l.StartsWith("curl ", StringComparison.Ordinal) && l.Contains("/keys/foo/encrypt", StringComparison.Ordinal));
        var result = await Shell.RunAsync("bash", "-c", line.Replace("curl ", "curl -s --max-time 10 ", StringComparison.Ordinal));
        Assert.True(result.ExitCode == 0, result.StdErr);
        var encrypted = JsonDocument.Parse(result.StdOut).RootElement;
        Assert.True(encrypted.TryGetProperty("ciphertext", out _), result.StdOut);

        var decrypted = await XksCurl.DecryptAsync(_lab, _lab.ConsoleFile("ks1-1"), "foo", encrypted);
        Assert.True(decrypted.Status == 200, decrypted.Raw);
        Assert.Equal("SGVsbG8gV29ybGQh", decrypted.Body.GetProperty("plaintext").GetString());
    }

    [Fact]
    public async Task PrintedHealthExample_IsTheDocumentedCall()
    {
        var line = _lab.Output.Split('\n').Single(l => l.StartsWith("curl ", StringComparison.Ordinal) && l.Contains("/kms/xks/v1/health", StringComparison.Ordinal));
        var result = await Shell.RunAsync("bash", "-c", line.Replace("curl ", "curl -s --max-time 10 -w '\\n%{http_code}' ", StringComparison.Ordinal));
        Assert.True(result.ExitCode == 0, result.StdErr);
        Assert.EndsWith("\n200", result.StdOut, StringComparison.Ordinal);
        Assert.Contains("ekmFleetDetails", result.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BothCredentialsOfKs1_AreValidAtOnce()
    {
        foreach (var name in new[] { "ks1-1", "ks1-2" })
        {
            var response = await XksCurl.EncryptAsync(_lab, _lab.ConsoleFile(name), "foo", "AAECAwQFBgc=");
            Assert.True(response.Status == 200, $"{name}: {response.Status} {response.Raw}");
        }
    }

    [Fact]
    public async Task Ks2Credential_OnKs1sPath_IsAuthenticationFailed()
    {
        var response = await XksCurl.EncryptAsync(_lab, _lab.ConsoleFile("ks2-1"), "foo", "AAECAwQFBgc=", uriPath: "/ks1/kms/xks/v1");
        Assert.Equal(401, response.Status);
        Assert.Equal("AuthenticationFailedException", response.Body.GetProperty("errorName").GetString());
    }

    [Theory]
    [InlineData("broker")]
    [InlineData("edge")]
    public async Task KilledProgram_IsRestartedWithinTwoSeconds_AndServesAgain(string program)
    {
        await XksCurl.WaitForPingAsync(_lab, TimeSpan.FromSeconds(30));
        var old = _lab.Pid(program);
        var killed = DateTime.UtcNow;
        await Shell.RunAsync("kill", "-KILL", old.ToString(System.Globalization.CultureInfo.InvariantCulture));

        var dll = program == "broker" ? "XksGrpc.Broker.dll" : "XksGrpc.Edge.dll";
        int current;
        while ((current = ReadPid(program)) == old || !Processes.CommandLine(current).Contains(dll, StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow - killed < TimeSpan.FromSeconds(2), $"{program} not restarted within 2 s\n{_lab.Output}");
            await Task.Delay(20);
        }

        Assert.False(Processes.IsAlive(old));

        // Recovery without touching the other program.
        await XksCurl.WaitForPingAsync(_lab, TimeSpan.FromSeconds(30));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        XksCurl.Response response;
        while ((response = await XksCurl.EncryptAsync(_lab, _lab.ConsoleFile("ks1-1"), "foo", "AAECAwQFBgc=")).Status != 200)
        {
            Assert.True(DateTime.UtcNow < deadline, $"no recovery after the {program} restart: {response.Status} {response.Raw}");
            await Task.Delay(200);
        }
    }

    private int ReadPid(string program)
    {
        try
        {
            return _lab.Pid(program);
        }
        catch (Exception e) when (e is IOException or FormatException)
        {
            return 0; // being rewritten
        }
    }

    private static void AssertChainsTo(X509Certificate2 leaf, X509Certificate2 root)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        Assert.True(chain.Build(leaf), string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation)));
    }
}
