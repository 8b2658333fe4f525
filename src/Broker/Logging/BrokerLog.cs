using Microsoft.Extensions.Logging;

namespace XksGrpc.Broker.Logging;

/// <summary>
/// Every log event of the broker, with stable event ids. Each method takes only fields that are safe
/// to log: never plaintext, ciphertext, AAD, key material or the PIN.
/// </summary>
internal static partial class BrokerLog
{
    // 1xx: requests
    [LoggerMessage(100, LogLevel.Debug, "{Operation} ok keystore={Keystore} key={KeyId} kmsRequestId={KmsRequestId} traceId={TraceId} latencyMs={LatencyMs:F3}")]
    public static partial void RequestSucceeded(ILogger logger, string operation, string keystore, string keyId, string kmsRequestId, string traceId, double latencyMs);

    [LoggerMessage(101, LogLevel.Information, "{Operation} failed keystore={Keystore} key={KeyId} kmsRequestId={KmsRequestId} traceId={TraceId} error={ErrorName} message={ErrorMessage} latencyMs={LatencyMs:F3}")]
    public static partial void RequestFailed(ILogger logger, string operation, string keystore, string keyId, string kmsRequestId, string traceId, string errorName, string errorMessage, double latencyMs);

    [LoggerMessage(102, LogLevel.Error, "{Operation} failed unexpectedly keystore={Keystore} key={KeyId} kmsRequestId={KmsRequestId} traceId={TraceId} latencyMs={LatencyMs:F3}")]
    public static partial void RequestFailedUnexpectedly(ILogger logger, Exception exception, string operation, string keystore, string keyId, string kmsRequestId, string traceId, double latencyMs);

    [LoggerMessage(103, LogLevel.Error, "Encrypt kmsRequestId={KmsRequestId} key={KeyId}: the HSM could not decrypt its own ciphertext (attempt {Attempt}); {Action}")]
    public static partial void EncryptVerificationFailed(ILogger logger, string kmsRequestId, string keyId, int attempt, string action);

    // 2xx: PKCS#11 module, tokens, sessions, keys
    [LoggerMessage(200, LogLevel.Information, "PKCS#11 module {ModulePath} loaded: {Manufacturer} {Description}")]
    public static partial void ModuleLoaded(ILogger logger, string modulePath, string manufacturer, string description);

    [LoggerMessage(201, LogLevel.Warning, "PKCS#11 module {ModulePath} is not initialized any more (C_Finalize by someone else?); it is loaded and initialized again")]
    public static partial void ModuleReloading(ILogger logger, string modulePath);

    [LoggerMessage(202, LogLevel.Information, "Token {TokenId} connected: slot {SlotId}, {Model}, {Sessions} sessions, {Keys} AES-256 keys")]
    public static partial void TokenConnected(ILogger logger, string tokenId, ulong slotId, string model, int sessions, int keys);

    [LoggerMessage(203, LogLevel.Warning, "Token {TokenId} cannot be connected: {Reason}; next attempt in {DelayMs} ms")]
    public static partial void TokenConnectFailed(ILogger logger, string tokenId, string reason, double delayMs);

    [LoggerMessage(204, LogLevel.Error, "Token {TokenId} failed with {Ckr} during {Operation}; its sessions are dropped and the broker reconnects")]
    public static partial void TokenFaulted(ILogger logger, string tokenId, string ckr, string operation);

    [LoggerMessage(205, LogLevel.Debug, "Token {TokenId}: key catalog loaded, {Keys} AES-256 keys")]
    public static partial void KeyCatalogLoaded(ILogger logger, string tokenId, int keys);

    [LoggerMessage(206, LogLevel.Warning, "Token {TokenId}: key catalog could not be refreshed: {Reason}")]
    public static partial void KeyCatalogRefreshFailed(ILogger logger, string tokenId, string reason);

    [LoggerMessage(207, LogLevel.Warning, "Token {TokenId}: {Count} AES-256 keys have the label '{Label}'; requests for it fail until one is removed")]
    public static partial void DuplicateKeyLabel(ILogger logger, string tokenId, string label, int count);

    [LoggerMessage(208, LogLevel.Information, "Token {TokenId} disconnected")]
    public static partial void TokenDisconnected(ILogger logger, string tokenId);

    [LoggerMessage(209, LogLevel.Warning, "PKCS#11 module {ModulePath} re-initialized (C_Finalize, C_Initialize): every token of it was away, so its token list is read again")]
    public static partial void ModuleReinitialized(ILogger logger, string modulePath);

    // 3xx: health
    [LoggerMessage(300, LogLevel.Information, "Token {TokenId} health changed from {Previous} to {Current}: {Reason}")]
    public static partial void HealthChanged(ILogger logger, string tokenId, string previous, string current, string reason);

    [LoggerMessage(301, LogLevel.Debug, "Token {TokenId} deep health check: {Health} in {LatencyMs:F3} ms")]
    public static partial void HealthChecked(ILogger logger, string tokenId, string health, double latencyMs);

    // 4xx: transport
    [LoggerMessage(400, LogLevel.Information, "Listening on unix:{Path} (mode {Mode})")]
    public static partial void ListeningUnixSocket(ILogger logger, string path, string mode);

    [LoggerMessage(401, LogLevel.Information, "Listening on {Address}:{Port} ({Security})")]
    public static partial void ListeningTcp(ILogger logger, string address, int port, string security);

    [LoggerMessage(402, LogLevel.Warning, "Connection on the Unix socket refused: peer pid={Pid} uid={Uid} gid={Gid} is not allowed")]
    public static partial void PeerRejected(ILogger logger, int pid, uint uid, uint gid);

    [LoggerMessage(403, LogLevel.Warning, "TLS client certificate refused: {Reason}")]
    public static partial void ClientCertificateRejected(ILogger logger, string reason);

    [LoggerMessage(404, LogLevel.Warning, "Removed a stale socket file {Path}")]
    public static partial void StaleSocketRemoved(ILogger logger, string path);

    [LoggerMessage(405, LogLevel.Warning, "Connection on the Unix socket refused: peer credentials unavailable")]
    public static partial void PeerCredentialsUnavailable(ILogger logger);

    [LoggerMessage(406, LogLevel.Information, "Shutting down: draining for {DelayMs} ms (calls still answered, marked x-broker-draining; /healthz 503), then the listeners close")]
    public static partial void Draining(ILogger logger, double delayMs);

    [LoggerMessage(500, LogLevel.Information, "Keystore key lists reloaded: {Keystores} keystores, {Keys} key ids")]
    public static partial void KeystoresReloaded(ILogger logger, int keystores, int keys);

    [LoggerMessage(501, LogLevel.Warning, "Keystore key lists not reloaded, the last valid ones stay in force: {Problems}")]
    public static partial void KeystoresReloadRejected(ILogger logger, string problems);
}
