namespace XksGrpc.Deploy.Tests.Lab;

/// <summary>
/// scripts/lab.sh across runs: XKS_LAB_MTLS, clean stops on SIGINT/SIGTERM, reuse of the state and --reset.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class LabLifecycleTests
{
    [Fact]
    public async Task WithMtls_TheEdgeRequiresTheLabClientCertificate_AndSigintStopsEverything()
    {
        var state = LabProcess.NewStateDirectory();
        try
        {
            await using var lab = await LabProcess.StartAsync(state, LabProcess.FreePort(), mtls: true);
            await AssertMtlsAndSigint(lab);
        }
        finally
        {
            LabProcess.DeleteState(state);
        }
    }

    private static async Task AssertMtlsAndSigint(LabProcess lab)
    {

        Assert.Equal(0, await XksCurl.PingAsync(lab, withClientCertificate: false));
        Assert.Equal(200, await XksCurl.PingAsync(lab, withClientCertificate: true));
        var encrypted = await XksCurl.EncryptAsync(lab, lab.ConsoleFile("ks1-1"), "foo", "AAECAwQFBgc=");
        Assert.True(encrypted.Status == 200, encrypted.Raw);
        Assert.Contains("--cert ", lab.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("warm-up load", lab.Output, StringComparison.Ordinal); // the generator presented the client certificate

        var broker = lab.Pid("broker");
        var edge = lab.Pid("edge");
        AssertExitedZero(lab, await lab.StopAsync("INT"));
        AssertStopped(lab, broker, edge);
    }

    [Fact]
    public async Task ReRun_ReusesTheState_SigtermStopsEverything_AndResetStartsOver()
    {
        var state = LabProcess.NewStateDirectory();
        try
        {
            await AssertReuseAndReset(state, LabProcess.FreePort());
        }
        finally
        {
            LabProcess.DeleteState(state);
        }
    }

    private static async Task AssertReuseAndReset(string state, int port)
    {
        string firstCredentials;
        await using (var first = await LabProcess.StartAsync(state, port))
        {
            firstCredentials = Snapshot(first);
            var broker = first.Pid("broker");
            var edge = first.Pid("edge");
            AssertExitedZero(first, await first.StopAsync("TERM"));
            AssertStopped(first, broker, edge);
        }

        await using (var again = await LabProcess.StartAsync(state, port))
        {
            Assert.Equal(firstCredentials, Snapshot(again));
            var response = await XksCurl.EncryptAsync(again, again.ConsoleFile("ks1-2"), "foo", "AAECAwQFBgc=");
            Assert.True(response.Status == 200, response.Raw);
            AssertExitedZero(again, await again.StopAsync("TERM"));
        }

        await using (var reset = await LabProcess.StartAsync(state, port, mtls: false, "--reset"))
        {
            Assert.NotEqual(firstCredentials, Snapshot(reset));
            Assert.Equal(200, (await XksCurl.HealthAsync(reset, reset.ConsoleFile("ks2-1"))).Status);
        }

        await AssertSigtermDuringStartUp(state, port);
    }

    /// <summary>
    /// SIGTERM while lab.sh is still starting (the edge just launched; its readiness wait and the
    /// warm-up calls follow): both programs stop and lab.sh exits 0. lab.sh once ended with 2 here
    /// (bash 5.2's trap bug after a command substitution, ShellSignalSafetyTests).
    /// </summary>
    private static async Task AssertSigtermDuringStartUp(string state, int port)
    {
        await using var lab = LabProcess.Launch(state, port, mtls: false, environment: null);
        var edgePid = lab.StatePath("edge.pid");
        using var deadline = new CancellationTokenSource(LabProcess.ReadyTimeout);
        while (!File.Exists(edgePid) || new FileInfo(edgePid).Length == 0)
        {
            Assert.False(lab.HasExited, $"lab.sh exited during start-up:\n{lab.Output}");
            await Task.Delay(10, deadline.Token);
        }

        var broker = lab.Pid("broker");
        var edge = lab.Pid("edge");
        AssertExitedZero(lab, await lab.StopAsync("TERM"));
        AssertStopped(lab, broker, edge);
        Assert.DoesNotContain("ready:", lab.Output, StringComparison.Ordinal);
    }

    /// <summary>lab.sh's exit code after a signal, with its output when it is not 0 (a CI run once saw 2).</summary>
    private static void AssertExitedZero(LabProcess lab, int exitCode) =>
        Assert.True(exitCode == 0, $"lab.sh exited with {exitCode}:\n{lab.Output}");

    private static string Snapshot(LabProcess lab) =>
        string.Join("\n", lab.ConsoleFiles().Select(f => $"{f.Name} {f.AccessKeyId} {f.Secret}"));

    private static void AssertStopped(LabProcess lab, int broker, int edge)
    {
        Assert.True(lab.HasExited);
        Assert.False(Processes.IsAlive(broker), "broker still running after the lab stopped");
        Assert.False(Processes.IsAlive(edge), "edge still running after the lab stopped");
        Assert.False(File.Exists(lab.StatePath("broker.pid")));
        Assert.False(File.Exists(lab.StatePath("edge.pid")));
    }
}
