using Microsoft.Extensions.Logging;

namespace XksGrpc.Edge.Logging;

/// <summary>
/// Every log line of the edge, with stable event ids (STYLE 10). The parameters are the only
/// fields a line may carry: never plaintext, ciphertext, AAD, key material or secrets.
/// </summary>
internal static partial class EdgeLog
{
    /// <summary>The one structured line per XKS request (spec, "Logging").</summary>
    [LoggerMessage(EventId = 1, EventName = "XksRequest",
        Message = "XKS {Api} keystore={Keystore} key={KeyId} kmsRequestId={KmsRequestId} kmsOperation={KmsOperation} awsPrincipalArn={AwsPrincipalArn} kmsKeyArn={KmsKeyArn} outcome={Outcome} status={Status} rule={Rule} latencyMs={LatencyMs} brokerMs={BrokerMs} traceId={TraceId}")]
    public static partial void XksRequest(ILogger logger, LogLevel level, string api, string keystore, string keyId,
        string? kmsRequestId, string? kmsOperation, string? awsPrincipalArn, string? kmsKeyArn, string outcome, int status,
        string? rule, double latencyMs, double brokerMs, string? traceId);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, EventName = "RejectedPath",
        Message = "Rejected {Method} {Path}: {Outcome} status={Status}")]
    public static partial void RejectedPath(ILogger logger, string method, string path, string outcome, int status);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, EventName = "AuthenticationFailed",
        Message = "SigV4 authentication failed for keystore {Keystore}: {Reason}")]
    public static partial void AuthenticationFailed(ILogger logger, string keystore, string reason);

    [LoggerMessage(EventId = 4, Level = LogLevel.Warning, EventName = "AccessDenied",
        Message = "Secondary authorization denied {Api} on keystore {Keystore} key {KeyId} by rule {Rule}")]
    public static partial void AccessDenied(ILogger logger, string api, string keystore, string keyId, string? rule);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, EventName = "ForwardingFailed",
        Message = "Forwarding to the broker failed ({ForwarderError}); answering {ErrorName}")]
    public static partial void ForwardingFailed(ILogger logger, string forwarderError, string errorName, Exception? exception);

    [LoggerMessage(EventId = 17, Level = LogLevel.Debug, EventName = "ClientGoneDuringForwarding",
        Message = "The client went away while its call was with the broker ({ForwarderError})")]
    public static partial void ClientGoneDuringForwarding(ILogger logger, string forwarderError);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, EventName = "BrokerReplyInvalid",
        Message = "The broker's reply to {Api} was not usable: {Reason}")]
    public static partial void BrokerReplyInvalid(ILogger logger, string api, string reason);

    [LoggerMessage(EventId = 16, Level = LogLevel.Warning, EventName = "BrokerReplyTimedOut",
        Message = "The broker's reply to {Api} started but did not complete within the deadline; answering DependencyTimeoutException")]
    public static partial void BrokerReplyTimedOut(ILogger logger, string api);

    [LoggerMessage(EventId = 12, Level = LogLevel.Error, EventName = "UnhandledRequestError",
        Message = "Unhandled error while serving {Api}; answering InternalException")]
    public static partial void UnhandledRequestError(ILogger logger, string api, Exception exception);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, EventName = "BrokerProbeFailed",
        Message = "Broker {Destination} did not answer the liveness probe")]
    public static partial void BrokerProbeFailed(ILogger logger, string destination, Exception? exception);

    [LoggerMessage(EventId = 14, Level = LogLevel.Warning, EventName = "BrokerFailover",
        Message = "Broker {Destination} failed before answering ({Reason}); retrying once on {Others} other broker(s)")]
    public static partial void BrokerFailover(ILogger logger, string destination, string reason, int others);

    [LoggerMessage(EventId = 18, Level = LogLevel.Information, EventName = "BrokerDraining",
        Message = "Broker {Destination} is shutting down (its reply said x-broker-draining): out of load balancing for {Seconds} s unless no other broker is healthy")]
    public static partial void BrokerDraining(ILogger logger, string destination, double seconds);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, EventName = "CertificateLoaded",
        Message = "Server certificate loaded: subject {Subject}, expires {NotAfter:O} ({DaysToExpiry} days)")]
    public static partial void CertificateLoaded(ILogger logger, string subject, DateTime notAfter, int daysToExpiry);

    [LoggerMessage(EventId = 21, Level = LogLevel.Error, EventName = "CertificateReloadFailed",
        Message = "Server certificate reload failed; the previous certificate stays in use")]
    public static partial void CertificateReloadFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 5, Level = LogLevel.Information, EventName = "CredentialsReloaded",
        Message = "SigV4 credentials reloaded: {Added} added or changed, {Removed} removed, {Count} in force")]
    public static partial void CredentialsReloaded(ILogger logger, int added, int removed, int count);

    [LoggerMessage(EventId = 6, Level = LogLevel.Error, EventName = "CredentialsReloadRejected",
        Message = "SigV4 credential reload rejected; the previous credentials stay in force: {Errors}")]
    public static partial void CredentialsReloadRejected(ILogger logger, string errors);

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, EventName = "EdgeStarting",
        Message = "Edge starting: {KeystoreCount} keystore(s), {BrokerCount} broker(s), deadline {DeadlineMs} ms")]
    public static partial void EdgeStarting(ILogger logger, int keystoreCount, int brokerCount, double deadlineMs);
}
