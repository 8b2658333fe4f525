using System.Diagnostics;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Logging;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.Logging;
using XksGrpc.Broker.Telemetry;
using XksGrpc.Broker.V1;
using XksGrpc.Protocol;

namespace XksGrpc.Broker.Service;

/// <summary>
/// Every call's last stop: logs one line (operation, keystore, key id, kmsRequestId, trace id, outcome,
/// latency), and turns an <see cref="XksException"/> into an RpcException carrying a google.rpc.Status
/// with one packed XksError. Any other exception becomes InternalException with a generic message, so
/// nothing unexpected (least of all data) reaches the edge.
/// </summary>
internal sealed class BrokerCallInterceptor(ILogger<BrokerCallInterceptor> logger, BrokerMetrics metrics) : Interceptor
{
    public override async Task<TResponse> UnaryServerHandler<TRequest, TResponse>(
        TRequest request, ServerCallContext context, UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var started = Stopwatch.GetTimestamp();
        try
        {
            var response = await continuation(request, context).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            metrics.RecordRequest(OperationName(request), BrokerMetrics.Success, elapsed.TotalSeconds);
            if (logger.IsEnabled(LogLevel.Debug))
            {
                var (keystore, keyId, metadata) = Describe(request);
                BrokerLog.RequestSucceeded(logger, OperationName(request), keystore, keyId, KmsRequestId(context, metadata), TraceId(), elapsed.TotalMilliseconds);
            }

            return response;
        }
        catch (XksException e)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            var (keystore, keyId, metadata) = Describe(request);
            metrics.RecordRequest(OperationName(request), e.Name.ToString(), elapsed.TotalSeconds);
            BrokerLog.RequestFailed(logger, OperationName(request), keystore, keyId, KmsRequestId(context, metadata), TraceId(), e.Name.ToString(), e.SafeMessage, elapsed.TotalMilliseconds);
            throw XksErrors.ToRpcException(e.Name, e.SafeMessage);
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Cancelled, "The call was cancelled."));
        }
        catch (Exception e) when (e is not RpcException)
        {
            var elapsed = Stopwatch.GetElapsedTime(started);
            var (keystore, keyId, metadata) = Describe(request);
            metrics.RecordRequest(OperationName(request), XksErrorName.InternalException.ToString(), elapsed.TotalSeconds);
            BrokerLog.RequestFailedUnexpectedly(logger, e, OperationName(request), keystore, keyId, KmsRequestId(context, metadata), TraceId(), elapsed.TotalMilliseconds);
            throw XksErrors.ToRpcException(XksErrorName.InternalException, "The proxy failed unexpectedly.");
        }
    }

    /// <summary>The kmsRequestId: the x-kms-request-id header, else requestMetadata.kmsRequestId.</summary>
    public static string KmsRequestId(ServerCallContext context, RequestMetadata? metadata)
    {
        var header = context.RequestHeaders.GetValue(BrokerHeaders.KmsRequestId);
        return !string.IsNullOrEmpty(header) ? header : metadata?.KmsRequestId ?? "";
    }

    /// <summary>
    /// The W3C trace id of this call: ASP.NET Core's request activity continues the edge's
    /// <c>traceparent</c> header, so it is the trace id of the edge's log line for the same request.
    /// </summary>
    private static string TraceId() => Activity.Current?.TraceId.ToHexString() ?? "";

    private static string OperationName<TRequest>(TRequest request) => request switch
    {
        EncryptRequest => "Encrypt",
        DecryptRequest => "Decrypt",
        GetKeyMetadataRequest => "GetKeyMetadata",
        GetHealthStatusRequest => "GetHealthStatus",
        _ => typeof(TRequest).Name,
    };

    private static (string Keystore, string KeyId, RequestMetadata? Metadata) Describe<TRequest>(TRequest request) => request switch
    {
        EncryptRequest r => (r.Key?.Keystore ?? "", r.Key?.ExternalKeyId ?? "", r.RequestMetadata),
        DecryptRequest r => (r.Key?.Keystore ?? "", r.Key?.ExternalKeyId ?? "", r.RequestMetadata),
        GetKeyMetadataRequest r => (r.Key?.Keystore ?? "", r.Key?.ExternalKeyId ?? "", r.RequestMetadata),
        GetHealthStatusRequest r => (r.Keystore, "", r.RequestMetadata),
        _ => ("", "", null),
    };
}
