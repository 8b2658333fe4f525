using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Errors;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// What a YARP transport failure means for KMS: the broker could not be reached in time →
/// 503 DependencyTimeoutException; anything else that went wrong on the hop → 500 InternalException.
/// </summary>
internal static class ForwardingErrors
{
    public static XksFailure ToFailure(ForwarderError? error, int statusCode) => error switch
    {
        ForwarderError.Request or ForwarderError.RequestTimedOut or ForwarderError.NoAvailableDestinations
            or ForwarderError.RequestBodyDestination or ForwarderError.RequestCreation
            // The proxied body is the edge's own in-memory frame: copying it fails only when the
            // deadline cancels the copy (a client that went away reads no answer anyway).
            or ForwarderError.RequestBodyClient =>
            new XksFailure(XksErrorName.DependencyTimeoutException, "The key manager broker could not be reached in time."),
        null when statusCode is 503 or 504 or 502 =>
            new XksFailure(XksErrorName.DependencyTimeoutException, "No key manager broker is available."),
        _ => new XksFailure(XksErrorName.InternalException, "Forwarding to the key manager broker failed."),
    };

    /// <summary>
    /// True when the hop failed because the client closed its request (a timeout on its side, a
    /// reset connection): nothing went wrong with the broker, and no one reads the answer. Under
    /// overload clients give up by the hundred; each is logged at Debug, without a stack trace,
    /// besides the request's own line.
    /// </summary>
    public static bool ClientWentAway(HttpContext context) => context.RequestAborted.IsCancellationRequested;
}
