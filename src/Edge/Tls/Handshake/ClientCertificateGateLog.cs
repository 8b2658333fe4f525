using Microsoft.Extensions.Logging;

namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>
/// Log messages of the client certificate gate (event ids 4100-4119). Certificate subjects and thumbprints
/// are public data and safe to log. To be folded into <c>EdgeLog</c> when the edge lands.
/// </summary>
internal static partial class ClientCertificateGateLog
{
    [LoggerMessage(EventId = 4100, Level = LogLevel.Warning,
        Message = "Connection {ConnectionId}: TLS handshake refused with a fatal handshake_failure alert ({Reason}); client certificate subject '{Subject}', thumbprint {Thumbprint}.")]
    public static partial void HandshakeRefused(ILogger logger, string connectionId, HandshakeRejection reason, string subject, string thumbprint, Exception? validatorException);

    [LoggerMessage(EventId = 4101, Level = LogLevel.Debug,
        Message = "Connection {ConnectionId}: TLS 1.2 session resumed (abbreviated handshake, no Certificate message); the gate let it through and the TLS stack re-validates the session's certificate.")]
    public static partial void SessionResumed(ILogger logger, string connectionId);

    [LoggerMessage(EventId = 4102, Level = LogLevel.Debug,
        Message = "Connection {ConnectionId}: the handshake_failure alert may not have reached the client ({ErrorType}).")]
    public static partial void AlertDeliveryIncomplete(ILogger logger, string connectionId, string errorType);

    [LoggerMessage(EventId = 4103, Level = LogLevel.Error,
        Message = "Connection {ConnectionId}: the client certificate gate failed; the connection is refused.")]
    public static partial void GateFailed(ILogger logger, string connectionId, Exception exception);
}
