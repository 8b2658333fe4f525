using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Model;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Errors;
using XksGrpc.Edge.Metrics;

namespace XksGrpc.Edge.Pipeline;

/// <summary>
/// Bounds the work in flight per broker (issue 5, "Quotas"): runs after YARP's load balancing has
/// picked a destination and sheds the request with 429 ThrottlingException when that broker
/// already has Edge:Brokers:MaxConcurrentRequestsPerBroker requests in flight, so an overload
/// answers fast instead of timing everyone out.
/// </summary>
internal sealed class BrokerConcurrencyGate(RequestDelegate next, IOptions<EdgeOptions> options, EdgeMetrics metrics)
{
    private readonly int _max = options.Value.Brokers.MaxConcurrentRequestsPerBroker;

    public Task InvokeAsync(HttpContext context)
    {
        var proxy = context.Features.Get<IReverseProxyFeature>();
        var destinations = proxy?.AvailableDestinations;
        if (destinations is { Count: > 0 } && destinations[0].ConcurrentRequestCount >= _max)
        {
            var exchange = context.Features.Get<XksExchange>();
            var failure = new XksFailure(XksErrorName.ThrottlingException, "The key manager broker is at its concurrency limit.");
            metrics.Throttled(exchange?.Keystore ?? "none", EdgeMetrics.BrokerConcurrency);
            if (exchange is not null)
            {
                exchange.Failure = failure;
                exchange.ResponseWritten = true;
            }

            return XksErrorWriter.WriteAsync(context, failure);
        }

        return next(context);
    }
}
