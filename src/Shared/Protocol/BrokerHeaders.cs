namespace XksGrpc.Protocol;

/// <summary>
/// The HTTP/2 headers of the edge-broker contract besides the gRPC messages
/// (proto/xksgrpc/broker/v1/broker.proto), named once for both programs.
/// </summary>
internal static class BrokerHeaders
{
    /// <summary>Request: the kmsRequestId, so that both programs' logs name the same request.</summary>
    public const string KmsRequestId = "x-kms-request-id";

    /// <summary>Reply: "1" while the broker drains before it stops (Broker:Listen:DrainDelay).</summary>
    public const string Draining = "x-broker-draining";
}
