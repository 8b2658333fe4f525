using Microsoft.AspNetCore.Http;
using XksGrpc.Edge.Audit;
using XksGrpc.Edge.Errors;
using XksGrpc.Edge.Routing;

namespace XksGrpc.Edge.Pipeline;

/// <summary>
/// Feeds every finished XKS request to the tamper-evident audit log (Edge:Audit:File; issue 5).
/// The append only enqueues; the log's writer task does the I/O.
/// </summary>
internal sealed class AuditLogSink(AuditLog log) : IRequestAuditSink, IAsyncDisposable
{
    public void Record(XksExchange exchange, HttpContext context, TimeSpan latency)
    {
        var metadata = exchange.Metadata;
        var auditEvent = new AuditEvent(
            ApiNames.Of(exchange.Api),
            exchange.Keystore,
            exchange.Api == XksApi.GetHealthStatus ? null : exchange.KeyId,
            metadata?.KmsRequestId,
            metadata?.KmsOperation,
            metadata is { AwsPrincipalArn.Length: > 0 } ? metadata.AwsPrincipalArn : null,
            metadata is { HasKmsKeyArn: true } ? metadata.KmsKeyArn : null,
            metadata is { HasKmsViaService: true } ? metadata.KmsViaService : null,
            metadata is { HasAwsSourceVpc: true } ? metadata.AwsSourceVpc : null,
            metadata is { HasAwsSourceVpce: true } ? metadata.AwsSourceVpce : null,
            context.Connection.ClientCertificate?.Subject,
            exchange.Failure is { } failure ? XksErrorTable.ErrorName(failure.Name) : AuditEvent.Ok,
            exchange.DecidingRule,
            latency.TotalMilliseconds);
        var append = log.AppendAsync(auditEvent);
        if (!append.IsCompleted)
        {
            _ = append.AsTask();
        }
    }

    public ValueTask DisposeAsync() => log.DisposeAsync();
}
