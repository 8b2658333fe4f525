using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Forwarding;
using XksGrpc.Edge.Pipeline;
using XksGrpc.Edge.Routing;

namespace XksGrpc.Edge.Tests.Forwarding;

/// <summary>
/// The passive health policy: a reply marked x-broker-draining takes its broker out of load
/// balancing; any other reply is judged by YARP's transport failure rate policy.
/// (End to end, with real processes: GracefulShutdownDrill.)
/// </summary>
public sealed class BrokerPassiveHealthTests
{
    [Fact]
    public async Task AReplyMarkedDraining_MakesTheBrokerPassivelyUnhealthy_ForTheReactivationPeriod()
    {
        var (policy, updater, failureRate) = Create();
        var (context, cluster, destination) = Proxied();

        await BrokerPassiveHealth.ObserveReplyAsync(Reply(context, draining: true));
        policy.RequestProxied(context, cluster, destination);

        var call = Assert.Single(updater.Calls);
        Assert.Same(destination, call.Destination);
        Assert.Equal(DestinationHealth.Unhealthy, call.Health);
        Assert.Equal(BrokerProxyConfigProvider.PassiveReactivationPeriod, call.Reactivation);
        Assert.Equal(0, failureRate.Calls);
    }

    [Fact]
    public async Task AnUnmarkedReply_IsJudgedByTheTransportFailureRate()
    {
        var (policy, updater, failureRate) = Create();
        var (context, cluster, destination) = Proxied();

        await BrokerPassiveHealth.ObserveReplyAsync(Reply(context, draining: false));
        policy.RequestProxied(context, cluster, destination);

        Assert.Empty(updater.Calls);
        Assert.Equal(1, failureRate.Calls);
    }

    [Fact]
    public void TheClusterNamesThePolicy()
    {
        var options = Options.Create(new EdgeOptions());
        var cluster = Assert.Single(new BrokerProxyConfigProvider(options, new BrokerEndpoints(options)).GetConfig().Clusters);

        Assert.Equal(BrokerPassiveHealth.PolicyName, cluster.HealthCheck!.Passive!.Policy);
    }

    private static (BrokerPassiveHealth Policy, RecordingUpdater Updater, CountingPolicy FailureRate) Create()
    {
        var updater = new RecordingUpdater();
        var failureRate = new CountingPolicy();
        var services = new ServiceCollection();
        services.AddSingleton<IPassiveHealthCheckPolicy>(failureRate);
        services.AddSingleton<IPassiveHealthCheckPolicy>(sp => new BrokerPassiveHealth(sp, updater, NullLogger<BrokerPassiveHealth>.Instance));
        var provider = services.BuildServiceProvider();
        var policy = provider.GetServices<IPassiveHealthCheckPolicy>().OfType<BrokerPassiveHealth>().Single();
        return (policy, updater, failureRate);
    }

    private static (HttpContext Context, ClusterState Cluster, DestinationState Destination) Proxied()
    {
        var context = new DefaultHttpContext();
        var route = new XksRoute(new KeystoreRoute("ks1", ""), XksApi.Encrypt, "foo", true);
        context.Features.Set(new XksExchange(route, 0));
        return (context, new ClusterState("brokers"), new DestinationState("broker-1"));
    }

    private static ResponseTransformContext Reply(HttpContext context, bool draining)
    {
        var reply = new HttpResponseMessage(System.Net.HttpStatusCode.OK);
        if (draining)
        {
            reply.Headers.TryAddWithoutValidation("x-broker-draining", "1");
        }

        return new ResponseTransformContext { HttpContext = context, ProxyResponse = reply };
    }

    private sealed class RecordingUpdater : IDestinationHealthUpdater
    {
        public List<(DestinationState Destination, DestinationHealth Health, TimeSpan Reactivation)> Calls { get; } = [];

        public void SetActive(ClusterState cluster, IEnumerable<NewActiveDestinationHealth> newHealthStates) => throw new NotSupportedException();

        public void SetPassive(ClusterState cluster, DestinationState destination, DestinationHealth newHealth, TimeSpan reactivationPeriod) =>
            Calls.Add((destination, newHealth, reactivationPeriod));
    }

    private sealed class CountingPolicy : IPassiveHealthCheckPolicy
    {
        public int Calls { get; private set; }

        public string Name => HealthCheckConstants.PassivePolicy.TransportFailureRate;

        public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination) => Calls++;
    }
}
