using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy;
using Yarp.ReverseProxy.Model;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Logging;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// Answers the load balancer's <c>GET /ping</c> (spec, "Load balancer health checks"): alive when a
/// broker answered recently (a forwarded call or YARP's active health check), else after a live
/// probe of <c>/healthz</c> on the brokers.
/// </summary>
internal sealed class BrokerLiveness(IServiceProvider services, IOptions<EdgeOptions> options, ILogger<BrokerLiveness> logger)
{
    private static readonly TimeSpan Recent = TimeSpan.FromSeconds(5);
    private long _lastAnswerTimestamp;

    /// <summary>Called whenever a broker sent a reply.</summary>
    public void BrokerAnswered() => Volatile.Write(ref _lastAnswerTimestamp, Stopwatch.GetTimestamp());

    public async Task<bool> IsAliveAsync(CancellationToken cancellationToken)
    {
        var last = Volatile.Read(ref _lastAnswerTimestamp);
        if (last != 0 && Stopwatch.GetElapsedTime(last) < Recent)
        {
            return true;
        }

        // Resolved lazily: the proxy state exists only once YARP has loaded its configuration.
        var lookup = services.GetService(typeof(IProxyStateLookup)) as IProxyStateLookup;
        if (lookup is null || !lookup.TryGetCluster(BrokerEndpoints.ClusterId, out var cluster))
        {
            return false;
        }

        foreach (var destination in cluster.Destinations.Values)
        {
            if (destination.Health.Active == DestinationHealth.Healthy)
            {
                return true;
            }
        }

        var client = cluster.Model.HttpClient;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Value.Brokers.HealthCheckTimeout);
        foreach (var destination in cluster.Destinations.Values)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, destination.Model.Config.Address.TrimEnd('/') + "/healthz")
                {
                    Version = HttpVersion.Version20,
                    VersionPolicy = HttpVersionPolicy.RequestVersionExact,
                };
                using var response = await client.SendAsync(request, timeout.Token);
                if (response.IsSuccessStatusCode)
                {
                    BrokerAnswered();
                    return true;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
            {
                EdgeLog.BrokerProbeFailed(logger, destination.DestinationId, ex is OperationCanceledException ? null : ex);
            }
        }

        return false;
    }
}
