using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using Grpc.Core;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Tests.Infrastructure;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Transport;

/// <summary>
/// A stop in two steps (ShutdownDrain): for Broker:Listen:DrainDelay the broker keeps answering,
/// marks each reply x-broker-draining and answers /healthz 503; then its listeners close.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class ShutdownDrainTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    /// <summary>The reply header of the edge-broker contract (proto/xksgrpc/broker/v1/broker.proto).</summary>
    private const string Draining = "x-broker-draining";

    [Fact]
    public async Task Stop_DrainsFirst_CallsAreAnsweredAndMarked_HealthzIs503_ThenTheSocketCloses()
    {
        var delay = TimeSpan.FromSeconds(2);
        await using var host = await StartBroker(delay);
        using var http = Http(host);

        // Before the stop: healthy, replies unmarked.
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("http://broker/healthz")).StatusCode);
        using (var before = host.Client.EncryptAsync(Encrypt("foo", RandomNumberGenerator.GetBytes(32))))
        {
            Assert.Null((await before.ResponseHeadersAsync).Get(Draining));
            await before;
        }

        var stopwatch = Stopwatch.StartNew();
        var stop = host.App.StopAsync();
        await WaitUntil(() => host.Logs.Entries.Any(e => e.EventId.Id == 406), TimeSpan.FromSeconds(5));

        // Draining: the same connection and new ones are still served; every reply says it.
        using var during = host.Client.EncryptAsync(Encrypt("foo", RandomNumberGenerator.GetBytes(32)));
        Assert.Equal("1", (await during.ResponseHeadersAsync).GetValue(Draining));
        Assert.NotEmpty((await during).Ciphertext);
        using (var fresh = Http(host))
        {
            var healthz = await fresh.GetAsync("http://broker/healthz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, healthz.StatusCode);
            Assert.Equal("draining", await healthz.Content.ReadAsStringAsync());
            Assert.Equal("1", healthz.Headers.GetValues(Draining).Single());
        }

        await stop.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.True(stopwatch.Elapsed >= delay - TimeSpan.FromMilliseconds(100), $"stopped after {stopwatch.Elapsed}, before the drain delay");
        await Assert.ThrowsAnyAsync<Exception>(() => http.GetAsync("http://broker/healthz"));
    }

    [Fact]
    public async Task Stop_WithDrainDelayZero_DoesNotDrain()
    {
        await using var host = await StartBroker(TimeSpan.Zero);

        await host.App.StopAsync().WaitAsync(TimeSpan.FromSeconds(20));

        Assert.DoesNotContain(host.Logs.Entries, e => e.EventId.Id == 406);
    }

    [Theory]
    [InlineData("-00:00:01")]
    [InlineData("00:00:10.001")]
    public void DrainDelay_OutsideZeroToTenSeconds_IsAProblem(string value)
    {
        var options = new BrokerOptions { Listen = { UnixSocket = "/run/xksgrpc/broker.sock", DrainDelay = TimeSpan.Parse(value, System.Globalization.CultureInfo.InvariantCulture) } };

        var failure = Assert.Single(new ListenOptionsValidator().Validate(null, options).Failures!);

        Assert.StartsWith("Broker:Listen:DrainDelay", failure, StringComparison.Ordinal);
    }

    private static Task<BrokerHost> StartBroker(TimeSpan drainDelay)
    {
        var directory = BrokerHost.NewDirectory("drain");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] }, broker =>
            broker["Listen"]!["DrainDelay"] = drainDelay.ToString("c", System.Globalization.CultureInfo.InvariantCulture));
        return BrokerHost.StartAsync(directory, config);
    }

    /// <summary>An HTTP/2 client on the broker's socket, with connections of its own.</summary>
    private static HttpClient Http(BrokerHost host) =>
        new(BrokerHost.UnixHandler(host.SocketPath)) { DefaultRequestVersion = HttpVersion.Version20, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };

    private static async Task WaitUntil(Func<bool> condition, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(stopwatch.Elapsed < timeout, "condition not met in time");
            await Task.Delay(10);
        }
    }
}
