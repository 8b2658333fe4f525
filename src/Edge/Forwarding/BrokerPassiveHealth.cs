using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Model;
using Yarp.ReverseProxy.Transforms;
using XksGrpc.Edge.Logging;
using XksGrpc.Edge.Pipeline;
using XksGrpc.Protocol;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// The cluster's passive health policy: YARP's transport failure rate, plus a broker that is shutting
/// down taken out of load balancing at its first reply that says so. A broker marks its replies with
/// <see cref="BrokerHeaders.Draining"/> from SIGTERM until its listeners close (Broker:Listen:DrainDelay); the
/// broker then stays unhealthy for the passive reactivation period, so new calls go to the other
/// brokers while it finishes the calls it has. With no other healthy broker, YARP's HealthyOrPanic
/// policy still uses it. (YARP's own policy marks a broker healthy again after every successful call,
/// so the draining mark has to be part of the policy, not set beside it.)
/// </summary>
internal sealed class BrokerPassiveHealth(IServiceProvider services, IDestinationHealthUpdater health, ILogger<BrokerPassiveHealth> logger)
    : IPassiveHealthCheckPolicy
{
    public const string PolicyName = "XksBroker";

    // Resolved on first use: it is one of the policies YARP resolves together with this one.
    private IPassiveHealthCheckPolicy? _failureRate;

    public string Name => PolicyName;

    /// <summary>YARP response transform, run before the translation reads the reply: notes the draining mark.</summary>
    public static ValueTask ObserveReplyAsync(ResponseTransformContext context)
    {
        if (context.ProxyResponse is { } reply
            && reply.Headers.NonValidated.Contains(BrokerHeaders.Draining)
            && context.HttpContext.Features.Get<XksExchange>() is { } exchange)
        {
            exchange.BrokerDraining = true;
        }

        return ValueTask.CompletedTask;
    }

    public void RequestProxied(HttpContext context, ClusterState cluster, DestinationState destination)
    {
        if (context.Features.Get<XksExchange>() is { BrokerDraining: true })
        {
            if (destination.Health.Passive != DestinationHealth.Unhealthy)
            {
                EdgeLog.BrokerDraining(logger, destination.DestinationId, BrokerProxyConfigProvider.PassiveReactivationPeriod.TotalSeconds);
            }

            health.SetPassive(cluster, destination, DestinationHealth.Unhealthy, BrokerProxyConfigProvider.PassiveReactivationPeriod);
            return;
        }

        _failureRate ??= services.GetServices<IPassiveHealthCheckPolicy>()
            .First(p => p.Name == HealthCheckConstants.PassivePolicy.TransportFailureRate);
        _failureRate.RequestProxied(context, cluster, destination);
    }
}
