using System.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Errors;
using XksGrpc.Edge.Logging;
using XksGrpc.Edge.Metrics;
using XksGrpc.Edge.Routing;

namespace XksGrpc.Edge.Pipeline;

/// <summary>
/// First stage of every request: classifies the path (spec URIs; unknown → 404
/// InvalidUriPathException; another method than POST on an XKS URI → 405 with <c>Allow: POST</c>),
/// and at the end of each XKS request writes the one log line, the metrics and the audit record.
/// <c>GET /ping</c> passes through unauthenticated.
/// </summary>
internal sealed class XksEntryMiddleware(
    RequestDelegate next,
    XksRouteTable routes,
    EdgeMetrics metrics,
    IEnumerable<IRequestAuditSink> auditSinks,
    ILogger<XksEntryMiddleware> logger)
{
    public const string PingPath = "/ping";

    private readonly IRequestAuditSink[] _auditSinks = [.. auditSinks];

    public async Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        var path = request.Path.Value ?? "";
        if (path == PingPath && (HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method)))
        {
            await next(context);
            return;
        }

        var start = Stopwatch.GetTimestamp();
        var failure = routes.TryClassify(path, out var route);
        if (failure is { } notFound)
        {
            await XksErrorWriter.WriteAsync(context, notFound);
            EdgeLog.RejectedPath(logger, request.Method, Truncate(path), XksErrorTable.ErrorName(notFound.Name), context.Response.StatusCode);
            metrics.RequestCompleted("Unknown", "none", XksErrorTable.ErrorName(notFound.Name), Stopwatch.GetElapsedTime(start).TotalSeconds);
            return;
        }

        if (!HttpMethods.IsPost(request.Method))
        {
            // Spec: a GET (or any other method) on an XKS URI MUST be rejected with 405.
            context.Response.OnStarting(static state => { ((HttpResponse)state).Headers[HeaderNames.Allow] = "POST"; return Task.CompletedTask; }, context.Response);
            await XksErrorWriter.WriteAsync(context, XksErrorName.ValidationException,
                $"The method {Truncate(request.Method)} is not allowed; XKS Proxy API requests use POST.", StatusCodes.Status405MethodNotAllowed);
            EdgeLog.RejectedPath(logger, request.Method, Truncate(path), "MethodNotAllowed", StatusCodes.Status405MethodNotAllowed);
            metrics.RequestCompleted(ApiNames.Of(route.Api), route.Keystore.Name, "MethodNotAllowed", Stopwatch.GetElapsedTime(start).TotalSeconds);
            return;
        }

        var exchange = new XksExchange(route, start);
        context.Features.Set(exchange);
        try
        {
            await next(context);
        }
        catch (Exception ex) when (!context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            EdgeLog.UnhandledRequestError(logger, ApiNames.Of(route.Api), ex);
            exchange.Failure = new XksFailure(XksErrorName.InternalException, null);
            await XksErrorWriter.WriteAsync(context, exchange.Failure.Value);
        }
        finally
        {
            Complete(context, exchange);
        }
    }

    private void Complete(HttpContext context, XksExchange exchange)
    {
        var latency = Stopwatch.GetElapsedTime(exchange.StartTimestamp);
        var outcome = exchange.Failure is { } failure ? XksErrorTable.ErrorName(failure.Name) : "Success";
        var api = ApiNames.Of(exchange.Api);
        metrics.RequestCompleted(api, exchange.Keystore, outcome, latency.TotalSeconds);

        var level = exchange.Failure is null ? LogLevel.Information
            : exchange.Failure.Value.HttpStatus >= 500 ? LogLevel.Error
            : LogLevel.Warning;
        if (logger.IsEnabled(level))
        {
            var metadata = exchange.Metadata;
            EdgeLog.XksRequest(logger, level, api, exchange.Keystore, exchange.KeyId,
                metadata?.KmsRequestId, metadata?.KmsOperation, metadata?.AwsPrincipalArn,
                metadata is { HasKmsKeyArn: true } ? metadata.KmsKeyArn : null,
                outcome, context.Response.StatusCode, exchange.DecidingRule,
                latency.TotalMilliseconds, exchange.BrokerLatency.TotalMilliseconds,
                exchange.TraceParent is not null ? exchange.TraceId.ToHexString() : Activity.Current?.TraceId.ToHexString());
        }

        foreach (var sink in _auditSinks)
        {
            sink.Record(exchange, context, latency);
        }
    }

    private static string Truncate(string value) => XksErrorWriter.Sanitize(value.Length <= 200 ? value : value[..200]);
}
