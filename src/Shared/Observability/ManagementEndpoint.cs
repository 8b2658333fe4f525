using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

namespace XksGrpc.Observability;

/// <summary>
/// Metrics and log correlation shared by the edge and the broker (issue 6). The OpenTelemetry meter
/// provider and its Prometheus exporter exist only when the management listener is on, so a program
/// without it pays nothing for its instruments. The listener's connections are marked when accepted:
/// the gate answers them before any XKS or gRPC stage runs, and no other listener serves /metrics.
/// </summary>
internal static class ManagementEndpoint
{
    public const string MetricsPath = "/metrics";
    public const string HealthPath = "/healthz";

    /// <summary>
    /// Histogram boundaries in seconds for every duration of our meters: fine below a millisecond
    /// (SoftHSM, the Unix-socket hop), then up to and past KMS's 250 ms budget.
    /// </summary>
    public static readonly double[] LatencyBuckets =
        [0.0001, 0.00025, 0.0005, 0.00075, 0.001, 0.0015, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2.5];

    private static readonly object ConnectionMark = new();

    /// <summary>
    /// OpenTelemetry metrics for <paramref name="meterName"/> (plus .NET runtime and Kestrel connection
    /// metrics), exported in Prometheus text format. Call only when the management listener is on.
    /// </summary>
    public static IServiceCollection AddManagementMetrics(this IServiceCollection services, string serviceName, string meterName)
    {
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceInstanceId: Environment.MachineName + ":" + Environment.ProcessId))
            .WithMetrics(metrics => metrics
                .AddMeter(meterName, "System.Runtime", "Microsoft.AspNetCore.Server.Kestrel")
                .AddView(instrument => instrument.Meter.Name == meterName && instrument is Histogram<double> && instrument.Unit == "s"
                    ? new ExplicitBucketHistogramConfiguration { Boundaries = LatencyBuckets }
                    : null)
                .AddPrometheusExporter(prometheus =>
                {
                    // A scrape every few seconds is cheap to compute; a cached answer would hide the last requests.
                    prometheus.ScrapeResponseCacheDurationMilliseconds = 0;
                }));
        return services;
    }

    /// <summary>
    /// Log lines carry the current W3C trace and span ids (scopes; shown by the JSON console formatter,
    /// the programs' default), so one request can be followed from the edge into the broker.
    /// </summary>
    public static ILoggingBuilder AddTraceCorrelation(this ILoggingBuilder logging)
        => logging.Configure(options => options.ActivityTrackingOptions = ActivityTrackingOptions.TraceId | ActivityTrackingOptions.SpanId | ActivityTrackingOptions.ParentId);

    /// <summary>
    /// Configuration defaults (before the program's file and environment, which may override them):
    /// one JSON object per line with scopes (TraceId, SpanId) and UTC timestamps.
    /// </summary>
    public static IEnumerable<KeyValuePair<string, string?>> JsonConsoleDefaults { get; } =
    [
        new("Logging:Console:FormatterName", "json"),
        new("Logging:Console:FormatterOptions:IncludeScopes", "true"),
        new("Logging:Console:FormatterOptions:UseUtcTimestamp", "true"),
        new("Logging:Console:FormatterOptions:TimestampFormat", "yyyy-MM-ddTHH:mm:ss.fffZ "),
    ];

    /// <summary>Adds the management listener (HTTP/1.1, no TLS) to Kestrel and marks its connections.</summary>
    public static void Listen(KestrelServerOptions kestrel, ManagementOptions options)
        => kestrel.Listen(options.ResolveBindAddress(), options.Port, listen =>
        {
            listen.Protocols = HttpProtocols.Http1;
            listen.Use(next => connection =>
            {
                connection.Items[ConnectionMark] = ConnectionMark;
                return next(connection);
            });
        });

    /// <summary>Whether the request arrived on the management listener.</summary>
    public static bool IsManagementRequest(HttpContext context)
        => context.Features.Get<IConnectionItemsFeature>() is { } connection && connection.Items.ContainsKey(ConnectionMark);

    /// <summary>
    /// The first middleware when the listener is on: management requests get /metrics, /healthz or 404
    /// and never reach the program's own pipeline.
    /// </summary>
    public static IApplicationBuilder UseManagementEndpoint(this IApplicationBuilder app)
        => app.MapWhen(IsManagementRequest, management =>
        {
            management.UseOpenTelemetryPrometheusScrapingEndpoint(MetricsPath);
            management.Run(static context =>
            {
                var health = context.Request.Path == HealthPath && (HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method));
                context.Response.StatusCode = health ? StatusCodes.Status200OK : StatusCodes.Status404NotFound;
                context.Response.ContentType = "text/plain";
                return context.Response.WriteAsync(health ? "ok\n" : "not found\n", context.RequestAborted);
            });
        });
}
