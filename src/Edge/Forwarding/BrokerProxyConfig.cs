using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.LoadBalancing;
using XksGrpc.Edge.Configuration;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// YARP's configuration, built in memory from Edge:Brokers: one POST route over every path
/// (the XKS pipeline has already classified the request) to the cluster "brokers": HTTP/2 only,
/// the per-request deadline as activity timeout, power-of-two-choices balancing, active
/// (GET /healthz) and passive health checks (transport failure rate, and brokers that say they are
/// shutting down: <see cref="BrokerPassiveHealth"/>), and HealthyOrPanic destination selection.
/// </summary>
internal sealed class BrokerProxyConfigProvider(IOptions<EdgeOptions> options, BrokerEndpoints endpoints) : IProxyConfigProvider
{
    public const string RouteId = "xks";

    /// <summary>How long a broker marked unhealthy by a passive signal stays out of load balancing.</summary>
    public static readonly TimeSpan PassiveReactivationPeriod = TimeSpan.FromSeconds(5);

    private BrokerProxyConfig? _config;

    public IProxyConfig GetConfig() => _config ??= Build(options.Value.Brokers, endpoints);

    private static BrokerProxyConfig Build(BrokersOptions brokers, BrokerEndpoints endpoints)
    {
        var destinations = new Dictionary<string, DestinationConfig>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, address) in endpoints.Destinations)
        {
            destinations[name] = new DestinationConfig { Address = address };
        }

        var cluster = new ClusterConfig
        {
            ClusterId = BrokerEndpoints.ClusterId,
            LoadBalancingPolicy = LoadBalancingPolicies.PowerOfTwoChoices,
            Destinations = destinations,
            HealthCheck = new HealthCheckConfig
            {
                AvailableDestinationsPolicy = HealthCheckConstants.AvailableDestinations.HealthyOrPanic,
                Active = new ActiveHealthCheckConfig
                {
                    Enabled = true,
                    Interval = brokers.HealthCheckInterval,
                    Timeout = brokers.HealthCheckTimeout,
                    Policy = HealthCheckConstants.ActivePolicy.ConsecutiveFailures,
                    Path = "/healthz",
                },
                Passive = new PassiveHealthCheckConfig
                {
                    Enabled = true,
                    Policy = BrokerPassiveHealth.PolicyName,
                    ReactivationPeriod = PassiveReactivationPeriod,
                },
            },
            HttpRequest = new ForwarderRequestConfig
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                ActivityTimeout = brokers.Deadline,
                AllowResponseBuffering = false,
            },
            HttpClient = new HttpClientConfig
            {
                EnableMultipleHttp2Connections = true,
                DangerousAcceptAnyServerCertificate = false,
            },
        };

        var route = new RouteConfig
        {
            RouteId = RouteId,
            ClusterId = BrokerEndpoints.ClusterId,
            Match = new RouteMatch { Path = "/{**xks}", Methods = ["POST"] },
        };

        return new BrokerProxyConfig([route], [cluster]);
    }

    private sealed class BrokerProxyConfig(IReadOnlyList<RouteConfig> routes, IReadOnlyList<ClusterConfig> clusters) : IProxyConfig
    {
        public IReadOnlyList<RouteConfig> Routes { get; } = routes;

        public IReadOnlyList<ClusterConfig> Clusters { get; } = clusters;

        // The broker list is fixed for the process's lifetime.
        public IChangeToken ChangeToken { get; } = new CancellationChangeToken(CancellationToken.None);
    }
}
