using System.Diagnostics;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Tests.Transport;

/// <summary>The Unix socket: file mode, SO_PEERCRED admission, liveness.</summary>
[Collection(BrokerCollection.Name)]
public sealed class UnixSocketTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    private const uint Nobody = 65534;

    [Fact]
    public void Socket_HasTheConfiguredFileMode()
    {
        var mode = File.GetUnixFileMode(Fixture.Host.SocketPath);

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite, mode);
    }

    [Fact]
    public void Transport_RunsSocketContinuationsInline()
    {
        // Two thread hops fewer per call (BrokerApp); HTTP/2 still runs each call on the thread pool.
        var sockets = Fixture.Host.Service<Microsoft.Extensions.Options.IOptions<Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets.SocketTransportOptions>>().Value;

        Assert.True(sockets.UnsafePreferInlineScheduling);
    }

    [Fact]
    public async Task Healthz_OverTheSocket_Is200()
    {
        var (code, output) = await Curl(Fixture.Host.SocketPath, asNobody: false);

        Assert.Equal(0, code);
        Assert.Equal("ok 200", output.Trim());
    }

    [Fact]
    public async Task Connection_FromAnotherUid_IsClosedAndLogged()
    {
        await using var host = await StartWorldWritableBroker([]);

        var (code, _) = await Curl(host.SocketPath, asNobody: true);

        Assert.NotEqual(0, code);
        var rejected = Assert.Single(host.Logs.Entries, e => e.EventId.Name == "PeerRejected");
        Assert.Contains($"uid={Nobody}", rejected.Message);
    }

    [Fact]
    public async Task Connection_FromAnAllowedUid_IsServed()
    {
        await using var host = await StartWorldWritableBroker([Nobody]);

        var (code, output) = await Curl(host.SocketPath, asNobody: true);

        Assert.Equal(0, code);
        Assert.Equal("ok 200", output.Trim());
        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Name == "PeerRejected");
    }

    [Fact]
    public async Task Connection_FromAPeerInAnAllowedSupplementaryGroup_IsServed()
    {
        await using var host = await StartWorldWritableBroker([], allowedGids: [4242]);

        var (rejectedCode, _) = await Curl(host.SocketPath, asNobody: true);
        var (code, output) = await Curl(host.SocketPath, asNobody: true, supplementaryGroup: 4242);

        Assert.NotEqual(0, rejectedCode);
        Assert.Equal(0, code);
        Assert.Equal("ok 200", output.Trim());
    }

    [Fact]
    public async Task StaleSocketFile_IsReplacedAtStart()
    {
        var directory = BrokerHost.NewDirectory("stale");
        Directory.CreateDirectory(Path.Combine(directory, "run"));
        File.WriteAllText(Path.Combine(directory, "run", "broker.sock"), "left over");

        await using var host = await BrokerHost.StartAsync(directory, BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] }));

        var health = await host.Client.GetHealthStatusAsync(new GetHealthStatusRequest { Keystore = "ks1" });
        Assert.Single(health.EkmFleetDetails);
        Assert.Contains(host.Logs.Entries, e => e.EventId.Name == "StaleSocketRemoved");
    }

    /// <summary>A broker whose socket (and the directories above it) anyone may reach, so only SO_PEERCRED decides.</summary>
    private static async Task<BrokerHost> StartWorldWritableBroker(uint[] allowedUids, uint[]? allowedGids = null)
    {
        var directory = BrokerHost.NewDirectory("peercred");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] }, broker =>
        {
            broker["Listen"]!["SocketMode"] = "0666";
            broker["Listen"]!["AllowedPeerUids"] = new System.Text.Json.Nodes.JsonArray(allowedUids.Select(u => (System.Text.Json.Nodes.JsonNode)u).ToArray());
            broker["Listen"]!["AllowedPeerGids"] = new System.Text.Json.Nodes.JsonArray((allowedGids ?? []).Select(g => (System.Text.Json.Nodes.JsonNode)g).ToArray());
        });
        Directory.CreateDirectory(Path.Combine(directory, "run"));
        const UnixFileMode traversable = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        foreach (var d in new[] { SoftHsmEnvironment.Directory, directory, Path.Combine(directory, "run") })
        {
            File.SetUnixFileMode(d, traversable);
        }

        return await BrokerHost.StartAsync(directory, config);
    }

    private static async Task<(int Code, string Output)> Curl(string socket, bool asNobody, uint? supplementaryGroup = null)
    {
        var start = new ProcessStartInfo(asNobody ? "setpriv" : "curl") { RedirectStandardOutput = true, RedirectStandardError = true };
        if (asNobody)
        {
            var groups = supplementaryGroup is { } g ? $"--groups={g}" : "--clear-groups";
            foreach (var a in new[] { $"--reuid={Nobody}", $"--regid={Nobody}", groups, "curl" })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in new[] { "-sS", "--max-time", "10", "--http2-prior-knowledge", "--unix-socket", socket, "-w", " %{http_code}", "http://broker/healthz" })
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, output);
    }
}
