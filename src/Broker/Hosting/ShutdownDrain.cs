using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Logging;
using XksGrpc.Protocol;

namespace XksGrpc.Broker.Hosting;

/// <summary>
/// The first step of a graceful stop. On SIGTERM, before Kestrel stops, the broker drains for
/// Broker:Listen:DrainDelay: it keeps answering every call, marks each reply with the header
/// <see cref="BrokerHeaders.Draining"/> and answers <c>/healthz</c> with 503, so that an edge takes it out of its
/// load balancing at its next reply and sends new calls to another broker. Then Kestrel stops as
/// usual (GOAWAY, calls in flight completed, listeners closed). Without this step an edge kept
/// sending calls to a broker whose listener was closing: under CPU contention some found neither an
/// answer nor time left to fail over (503 after the 200 ms deadline).
/// </summary>
internal sealed class ShutdownDrain(IOptions<BrokerOptions> options, ILogger<ShutdownDrain> logger) : IHostedLifecycleService
{
    private volatile bool _draining;

    public bool IsDraining => _draining;

    /// <summary>Runs before any hosted service (Kestrel's included) is asked to stop.</summary>
    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        _draining = true;
        var delay = options.Value.Listen.DrainDelay;
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        BrokerLog.Draining(logger, delay.TotalMilliseconds);
        try
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out: stop now.
        }
    }

    /// <summary>Marks the reply while draining: a volatile read per call otherwise.</summary>
    public Task MarkAsync(HttpContext context, RequestDelegate next)
    {
        if (_draining)
        {
            context.Response.Headers[BrokerHeaders.Draining] = "1";
        }

        return next(context);
    }

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
