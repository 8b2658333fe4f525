using Microsoft.Extensions.Hosting;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// Opens the broker connections right after start (a liveness probe through the cluster's client),
/// so that the first XKS request does not pay for connection set-up inside its deadline.
/// </summary>
internal sealed class BrokerWarmup(BrokerLiveness liveness) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = Task.Run(async () =>
        {
            // YARP loads its configuration when the endpoints are first built; retry briefly.
            for (var attempt = 0; attempt < 20 && !await liveness.IsAliveAsync(CancellationToken.None); attempt++)
            {
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
