using System.Diagnostics;
using System.Net;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>A missing, dying or slow broker: the edge answers the spec's JSON error within its deadline.</summary>
public sealed class BrokerFailureTests : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xksgrpc-it-").FullName;
    private TestPki _pki = null!;

    public Task InitializeAsync()
    {
        _pki = TestPki.Create(_directory);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_directory, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task NoBroker_IsDependencyTimeout_AndPingIs503()
    {
        var config = EdgeHost.WriteConfig(_directory, Path.Combine(_directory, "absent.sock"), EdgeHost.DefaultCredentials);
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        using var client = new XksClient(edge.BaseAddress, _pki.Ca);

        var ping = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(edge.BaseAddress, "/ping")));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ping.Status);

        var reply = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1]).ToJsonString(), EdgeHost.DefaultCredentials[0]);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, reply.Status);
        Assert.Equal("DependencyTimeoutException", reply.ErrorName);
        Assert.Equal("application/json", reply.ContentType);
    }

    [Fact]
    public async Task OneOfTwoBrokersRefusesConnections_EveryRequestSucceedsByFailingOverToTheOther()
    {
        var live = Path.Combine(_directory, "live.sock");
        var dead = Path.Combine(_directory, "dead.sock");
        await using var broker = await FakeBroker.StartAsync(live);
        var config = EdgeHost.WriteConfig(_directory, live, EdgeHost.DefaultCredentials, root =>
        {
            // The dead broker first, and health checks too slow to learn about it during the test:
            // only the failover can save the requests that load balancing sends to it.
            var brokers = root["Edge"]!["Brokers"]!;
            brokers["Destinations"]!.AsArray().Insert(0, new System.Text.Json.Nodes.JsonObject { ["Name"] = "broker-dead", ["Address"] = "unix:" + dead });
            brokers["HealthCheckInterval"] = "00:05:00";
        });
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        using var client = new XksClient(edge.BaseAddress, _pki.Ca);
        await client.WaitUntilReadyAsync();
        var before = TestLogProvider.Lines.Count(l => l.EventId == 14);

        var replies = new List<XksClient.Reply>();
        for (var i = 0; i < 30; i++)
        {
            replies.Add(await client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), EdgeHost.DefaultCredentials[0]));
        }

        Assert.All(replies, r => Assert.Equal(HttpStatusCode.OK, r.Status));
        Assert.True(TestLogProvider.Lines.Count(l => l.EventId == 14) > before, "no request was sent to the dead broker and failed over");
    }

    [Fact]
    public async Task TwoBrokersBothRefusing_IsDependencyTimeoutAfterOneFailover()
    {
        var config = EdgeHost.WriteConfig(_directory, Path.Combine(_directory, "absent-1.sock"), EdgeHost.DefaultCredentials, root =>
            root["Edge"]!["Brokers"]!["Destinations"]!.AsArray().Add(new System.Text.Json.Nodes.JsonObject { ["Name"] = "broker-2", ["Address"] = "unix:" + Path.Combine(_directory, "absent-2.sock") }));
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        using var client = new XksClient(edge.BaseAddress, _pki.Ca);

        var watch = Stopwatch.StartNew();
        var reply = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1]).ToJsonString(), EdgeHost.DefaultCredentials[0]);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, reply.Status);
        Assert.Equal("DependencyTimeoutException", reply.ErrorName);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"answered after {watch.Elapsed}");
    }

    [Fact]
    public async Task SlowBroker_IsDependencyTimeoutWithinTheDeadline()
    {
        await using var chain = await StartWarmChainAsync();
        var (broker, client) = (chain.Broker, chain.Client);

        broker.State.Delay = TimeSpan.FromSeconds(2);
        var watch = Stopwatch.StartNew();
        var reply = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1]).ToJsonString(), EdgeHost.DefaultCredentials[0]);
        watch.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, reply.Status);
        Assert.Equal("DependencyTimeoutException", reply.ErrorName);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"answered after {watch.Elapsed}");
    }

    [Fact]
    public async Task ClientThatGivesUpWhileTheBrokerWorks_IsNoForwardingFailure_InTheLog()
    {
        await using var chain = await StartWarmChainAsync();
        var (broker, client) = (chain.Broker, chain.Client);

        // The broker takes 400 ms; the client gives up after 100 ms, before the edge's 200 ms deadline.
        broker.State.Delay = TimeSpan.FromMilliseconds(400);
        var requestId = "client-gone-" + Guid.NewGuid().ToString("N");
        var body = XksBodies.Encrypt([1]);
        body["requestMetadata"]!["kmsRequestId"] = requestId;
        var linesBefore = TestLogProvider.Lines.Count; // the log is shared by every test of the process
        using (var giveUp = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", body.ToJsonString(), EdgeHost.DefaultCredentials[0], cancellationToken: giveUp.Token));
        }

        // The request's own line is written once the edge is done with it.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (!TestLogProvider.Lines.Any(l => l.EventId == 1 && l.Message.Contains(requestId, StringComparison.Ordinal)) && DateTime.UtcNow < until)
        {
            await Task.Delay(20);
        }

        var lines = TestLogProvider.Lines.Skip(linesBefore).ToList();
        Assert.Contains(lines, l => l.EventId == 1 && l.Message.Contains(requestId, StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.EventId == 10 && l.Message.Contains("Canceled", StringComparison.Ordinal));
    }

    [Fact]
    public async Task BrokerThatStallsAfterItsReplyHeaders_IsDependencyTimeoutWithinTheDeadline()
    {
        await using var chain = await StartWarmChainAsync();
        var (broker, client) = (chain.Broker, chain.Client);

        // The deadline runs out while the edge reads the reply's body, not while it waits for headers.
        broker.State.StallAfterHeaders = TimeSpan.FromSeconds(2);
        var watch = Stopwatch.StartNew();
        var reply = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1]).ToJsonString(), EdgeHost.DefaultCredentials[0]);
        watch.Stop();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, reply.Status);
        Assert.Equal("DependencyTimeoutException", reply.ErrorName);
        Assert.Equal("application/json", reply.ContentType);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1.5), $"answered after {watch.Elapsed}");
    }

    [Fact]
    public async Task BrokerStoppedAndRestarted_FailsCleanlyThenRecoversWithoutRestartingTheEdge()
    {
        var socket = Path.Combine(_directory, "broker.sock");
        var broker = await FakeBroker.StartAsync(socket);
        var config = EdgeHost.WriteConfig(_directory, socket, EdgeHost.DefaultCredentials);
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        using var client = new XksClient(edge.BaseAddress, _pki.Ca);
        await client.WaitUntilReadyAsync();
        var credential = EdgeHost.DefaultCredentials[0];

        await broker.DisposeAsync();
        var down = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), credential);
        Assert.Contains(down.ErrorName, new[] { "DependencyTimeoutException", "InternalException" });

        await using var again = await FakeBroker.StartAsync(socket);
        var until = DateTime.UtcNow.AddSeconds(15);
        XksClient.Reply reply;
        do
        {
            await Task.Delay(100);
            reply = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), credential);
        }
        while (reply.Status != HttpStatusCode.OK && DateTime.UtcNow < until);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    /// <summary>A fake broker and a real edge, with one successful call through them.</summary>
    private async Task<Chain> StartWarmChainAsync()
    {
        var socket = Path.Combine(_directory, "broker.sock");
        var broker = await FakeBroker.StartAsync(socket);
        var config = EdgeHost.WriteConfig(_directory, socket, EdgeHost.DefaultCredentials);
        var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);
        var chain = new Chain(broker, edge, new XksClient(edge.BaseAddress, _pki.Ca));
        await chain.Client.WaitUntilReadyAsync();
        await chain.Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1]).ToJsonString(), EdgeHost.DefaultCredentials[0]);
        return chain;
    }

    private sealed record Chain(FakeBroker Broker, EdgeHost Edge, XksClient Client) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Edge.DisposeAsync();
            await Broker.DisposeAsync();
        }
    }
}
