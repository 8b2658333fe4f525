using System.Diagnostics;
using Google.Protobuf;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Authentication;
using XksGrpc.Edge.Errors;
using XksGrpc.Edge.Routing;

namespace XksGrpc.Edge.Pipeline;

/// <summary>
/// The state of one XKS request as it moves through the edge's stages (classify, authenticate,
/// validate, authorize, translate, forward, answer). Stored as an HttpContext feature; read at the
/// end for the log line, the metrics and the audit record.
/// </summary>
internal sealed class XksExchange(XksRoute route, long startTimestamp)
{
    public XksRoute Route { get; } = route;

    public XksApi Api => Route.Api;

    public string Keystore => Route.Keystore.Name;

    public string KeyId => Route.KeyId;

    public long StartTimestamp { get; } = startTimestamp;

    /// <summary>The authenticated credential (null until SigV4 succeeded).</summary>
    public SigV4Credential? Credential { get; set; }

    /// <summary>The request's metadata, once validated (safe to log: no key material in it).</summary>
    public RequestMetadata? Metadata { get; set; }

    /// <summary>The broker request, once validated.</summary>
    public IMessage? BrokerRequest { get; set; }

    /// <summary>Whether Encrypt asked for a CDIV (the reply must then carry one).</summary>
    public bool CdivRequested { get; set; }

    /// <summary>Bytes of plaintext (Encrypt) or ciphertext (Decrypt) sent: the reply must carry as many (GCM is a stream cipher).</summary>
    public int DataLength { get; set; }

    /// <summary>The failure the request ended with, if any.</summary>
    public XksFailure? Failure { get; set; }

    /// <summary>Set once the edge has written the final response (success or spec error).</summary>
    public bool ResponseWritten { get; set; }

    /// <summary>The broker's reply said it is shutting down (x-broker-draining).</summary>
    public bool BrokerDraining { get; set; }

    /// <summary>The authorization rule that decided (issue 5), for the log and the audit record.</summary>
    public string? DecidingRule { get; set; }

    /// <summary>W3C trace context sent to the broker.</summary>
    public ActivityTraceId TraceId { get; set; }

    public string? TraceParent { get; set; }

    public long BrokerStartTimestamp { get; set; }

    public long BrokerEndTimestamp { get; set; }

    public TimeSpan BrokerLatency => BrokerStartTimestamp == 0 || BrokerEndTimestamp == 0
        ? TimeSpan.Zero
        : Stopwatch.GetElapsedTime(BrokerStartTimestamp, BrokerEndTimestamp);
}
