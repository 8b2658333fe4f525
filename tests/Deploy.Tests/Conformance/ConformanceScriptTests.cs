using XksGrpc.Deploy.Tests.Lab;

namespace XksGrpc.Deploy.Tests.Conformance;

/// <summary>
/// scripts/conformance.sh (the official XKS test client's cases, re-created, and the spec's other edges)
/// passes against a fresh lab, with and without XKS_LAB_MTLS=1.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ConformanceScriptTests(LabFixture fixture) : IClassFixture<LabFixture>
{
    // The official client's cases for each of the 3 console files, the others for 2 keystores.
    private const int MinimumCases = 300;

    [Fact]
    public async Task EveryCase_Passes_WithoutMtls()
    {
        var outcome = await ConformanceScript.RunAsync(fixture.Lab);

        AssertAllPassed(outcome);
        Assert.True(outcome.Passes("[ks1-2] Decrypt with large ciphertext and large AAD"), outcome.Output);
        Assert.True(outcome.Passes("[ks2-1] GetKeyMetadata of key id 'f%C3%A9'"), outcome.Output);
        Assert.DoesNotContain(outcome.Lines, l => l.StartsWith("PASS  mTLS", StringComparison.Ordinal)); // only with XKS_LAB_MTLS=1
    }

    [Fact]
    public async Task EveryCase_Passes_WithMtls_AndEveryBadClientCertificateFailsTheHandshake()
    {
        var state = LabProcess.NewStateDirectory();
        try
        {
            await using var lab = await LabProcess.StartAsync(state, LabProcess.FreePort(), mtls: true);
            var outcome = await ConformanceScript.RunAsync(lab);

            AssertAllPassed(outcome);
            foreach (var certificate in new[] { "expired", "selfsigned", "wrong_cn", "other_ca" })
            {
                Assert.True(outcome.Passes($"mTLS GetHealthStatus with a {certificate} client certificate: TLS alert, handshake failure"), outcome.Output);
            }

            Assert.True(outcome.Passes("mTLS GetHealthStatus without a client certificate: handshake fails"), outcome.Output);
        }
        finally
        {
            LabProcess.DeleteState(state);
        }
    }

    [Fact]
    public async Task AWrongSecret_FailsTheScript()
    {
        // The script must be able to fail: a state directory whose only console file has a wrong secret
        // for ks2 (the edge of the running lab knows another) makes the ks2 cases fail, and the run.
        var lab = fixture.Lab;
        var copy = Path.Combine(Path.GetTempPath(), "xksconf-" + Guid.NewGuid().ToString("N")[..10]);
        try
        {
            Directory.CreateDirectory(Path.Combine(copy, "tls"));
            Directory.CreateDirectory(Path.Combine(copy, "kms"));
            File.Copy(lab.StatePath("tls/ca.pem"), Path.Combine(copy, "tls/ca.pem"));
            var secret = lab.ConsoleFile("ks2-1").Secret;
            var wrong = (secret[0] == 'A' ? "B" : "A") + secret[1..];
            await File.WriteAllTextAsync(Path.Combine(copy, "kms/ks2-1.json"),
                (await File.ReadAllTextAsync(lab.StatePath("kms/ks2-1.json"))).Replace(secret, wrong, StringComparison.Ordinal));

            var outcome = await ConformanceScript.RunAsync(lab, copy);

            Assert.NotEqual(0, outcome.ExitCode);
            Assert.True(outcome.Failed > 50, outcome.Output);
            Assert.Contains(outcome.Lines, l => l.StartsWith("FAIL  [ks2-1] GetHealthStatus  ", StringComparison.Ordinal));
            // Cases that expect a refused signature still pass: the script judges each case by itself.
            Assert.True(outcome.Passes("[ks2-1] GetHealthStatus with an invalid Sigv4 access key"), outcome.Output);
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    private static void AssertAllPassed(ConformanceScript.Outcome outcome)
    {
        var failures = string.Join("\n", outcome.Lines.Where(l => !l.StartsWith("PASS", StringComparison.Ordinal)));
        Assert.True(outcome.ExitCode == 0 && outcome.Failed == 0, $"exit {outcome.ExitCode}, {outcome.Failed} failed:\n{failures}");
        Assert.True(outcome.Passed >= MinimumCases, $"only {outcome.Passed} cases ran:\n{outcome.Output}");
    }
}
