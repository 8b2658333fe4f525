using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Logging;
using XksGrpc.Edge.Metrics;
using XksGrpc.Edge.Pipeline;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// Fails over to another broker, once, inside the request's deadline. Runs in YARP's pipeline before
/// load balancing: when the call to the chosen broker failed at connection level (refused, reset, or
/// the connection ended before any byte of a reply, YARP's <see cref="ForwarderError.Request"/>; or
/// while the request body was still being sent, <see cref="ForwarderError.RequestBodyDestination"/>,
/// or a body copy cancelled because the connection failed, as when a broker shutting down closes its
/// socket under a request in flight), and nothing has been written to the client, the request goes
/// again through load balancing over the other destinations. Safe because every XKS call is
/// idempotent for the HSM: metadata, decrypt and health change nothing, and a repeated encrypt draws a
/// fresh IV (a lost first reply is simply never seen). Timeouts are not retried: the deadline is spent.
/// The retry is bounded by what is left of Edge:Brokers:Deadline; if that runs out, the answer is 503
/// DependencyTimeoutException as always.
/// YARP's passive health check runs inside this stage, so the failure still counts against the broker.
/// </summary>
internal sealed class BrokerFailover(RequestDelegate next, IOptions<EdgeOptions> options, EdgeMetrics metrics, ILogger<BrokerFailover> logger)
{
    private readonly TimeSpan _deadline = options.Value.Brokers.Deadline;

    public async Task InvokeAsync(HttpContext context)
    {
        var proxy = context.Features.Get<IReverseProxyFeature>();
        var candidates = proxy?.AvailableDestinations;
        var started = Stopwatch.GetTimestamp();
        await next(context);

        if (proxy is null || candidates is null || !ShouldRetry(context, proxy, out var failed))
        {
            return;
        }

        var remaining = _deadline - Stopwatch.GetElapsedTime(started);
        var others = Others(candidates, failed) ?? Others(proxy.AllDestinations, failed);
        if (others is null || remaining <= TimeSpan.Zero || context.Request.Body is not { CanSeek: true } body)
        {
            return;
        }

        var error = context.Features.Get<IForwarderErrorFeature>()!;
        EdgeLog.BrokerFailover(logger, failed.DestinationId, error.Exception is HttpRequestException h ? h.HttpRequestError.ToString() : error.Error.ToString(), others.Count);
        metrics.BrokerFailover(failed.DestinationId);

        // Undo what the failed attempt left: YARP's error, its 502, the consumed body.
        context.Features.Set<IForwarderErrorFeature>(null);
        context.Response.StatusCode = StatusCodes.Status200OK;
        body.Position = 0;
        proxy.AvailableDestinations = others;

        // The retry gets what is left of the deadline, not a deadline of its own.
        var clientAborted = context.RequestAborted;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(clientAborted);
        deadline.CancelAfter(remaining);
        context.RequestAborted = deadline.Token;
        try
        {
            await next(context);
        }
        finally
        {
            context.RequestAborted = clientAborted;
        }

        if (deadline.IsCancellationRequested && !clientAborted.IsCancellationRequested
            && context.Features.Get<IForwarderErrorFeature>() is { Error: ForwarderError.RequestCanceled } canceled)
        {
            // YARP saw our deadline as a client cancellation: it is the broker that was too slow.
            context.Features.Set<IForwarderErrorFeature>(new DeadlineError(canceled.Exception));
        }
    }

    /// <summary>A connection-level failure of the chosen broker, before any reply reached the client.</summary>
    internal static bool ShouldRetry(HttpContext context, IReverseProxyFeature proxy, out DestinationState failed)
    {
        failed = proxy.ProxiedDestination!;
        return failed is not null
            && context.Features.Get<IForwarderErrorFeature>() is { } error
            && (error.Error is ForwarderError.Request or ForwarderError.RequestBodyDestination
                || (error.Error is ForwarderError.RequestBodyClient or ForwarderError.RequestBodyCanceled && IsConnectionFailure(error.Exception)))
            && !context.Response.HasStarted
            && context.Features.Get<XksExchange>() is not { ResponseWritten: true }
            && !ForwardingErrors.ClientWentAway(context);
    }

    /// <summary>
    /// Whether the exception (or one inside it) is a failure to reach the broker. The edge has the
    /// whole body before forwarding, so a "client" body error is the body copy being cancelled because
    /// the connection to the broker failed (seen when a broker shut down: RequestBodyClient wrapping
    /// "Cannot assign requested address" for its socket).
    /// </summary>
    internal static bool IsConnectionFailure(Exception? exception) => exception switch
    {
        null => false,
        HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } => true,
        System.Net.Sockets.SocketException => true,
        AggregateException aggregate => aggregate.InnerExceptions.Any(IsConnectionFailure),
        _ => IsConnectionFailure(exception.InnerException),
    };

    /// <summary>The destinations other than <paramref name="failed"/>, or null when there is none.</summary>
    internal static IReadOnlyList<DestinationState>? Others(IReadOnlyList<DestinationState> destinations, DestinationState failed)
    {
        var others = destinations.Where(d => !ReferenceEquals(d, failed)).ToArray();
        return others.Length == 0 ? null : others;
    }

    private sealed class DeadlineError(Exception? exception) : IForwarderErrorFeature
    {
        public ForwarderError Error => ForwarderError.RequestTimedOut;

        public Exception? Exception { get; } = exception;
    }
}
