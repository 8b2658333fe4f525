using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Hosting;
using XksGrpc.Edge.Logging;
using XksGrpc.Edge.Pipeline;
using XksGrpc.Files;
using XksGrpc.Observability;

namespace XksGrpc.Edge;

/// <summary>
/// The edge process (issue 3): the XKS Proxy API over HTTPS (spec), authenticated, validated and
/// forwarded through YARP to the broker's gRPC. <see cref="Build(string[])"/> takes the serve
/// arguments (<c>[serve] --config &lt;edge.json&gt;</c>) so tests can host the edge in-process.
/// </summary>
public static class EdgeApp
{
    public static WebApplication Build(string[] args) => Build(args, configure: null);

    internal static WebApplication Build(string[] args, Action<WebApplicationBuilder>? configure)
    {
        var configPath = EdgeCommandLine.FindConfigPath(args)
            ?? throw new ArgumentException("Missing --config <edge.json>.", nameof(args));
        configPath = Path.GetFullPath(configPath);

        var builder = WebApplication.CreateBuilder(ConfigurationFileReload.HostOptions([]));

        // Quiet framework defaults (two extra lines per request otherwise), then the configuration
        // file, then the environment (Edge__...) so that each can override the one before.
        builder.Configuration.AddInMemoryCollection(
        [
            new("Logging:LogLevel:Microsoft.AspNetCore", "Warning"),
            new("Logging:LogLevel:Yarp", "Warning"),
            .. ManagementEndpoint.JsonConsoleDefaults,
        ]);
        builder.Configuration.AddJsonFileReloadedOnChange(builder.Services, configPath);
        builder.Configuration.AddEnvironmentVariables();

        builder.Services.AddEdgeConfiguration(builder.Configuration, new EdgeConfigLocation(Path.GetDirectoryName(configPath)!));
        builder.Logging.AddTraceCorrelation().UseBatchedConsole();
        var management = builder.Configuration.GetSection($"{EdgeOptions.SectionName}:Management").Get<ManagementOptions>() ?? new();
        if (management.Enabled)
        {
            builder.Services.AddManagementMetrics("xksgrpc-edge", Metrics.EdgeMetrics.MeterName);
        }

        configure?.Invoke(builder);
        builder.Services.AddEdgeTls();
        builder.WebHost.UseEdgeKestrel();
        builder.Services.AddEdgeAuthorization();
        builder.Services.AddEdgeAudit(builder.Configuration, new EdgeConfigLocation(Path.GetDirectoryName(configPath)!));
        builder.Services.AddXksPipeline();
        builder.Services.AddEdgeAuthentication();
        builder.Services.AddBrokerForwarding();
        var app = builder.Build();

        // Fail fast, with every configuration problem at once, before anything listens.
        var options = app.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;
        app.Services.GetRequiredService<CredentialLoader>().LoadOrThrow();
        _ = app.Services.GetRequiredService<Authorization.PolicyStore>();

        EdgeLog.EdgeStarting(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("XksGrpc.Edge"),
            options.Keystores.Count, options.Brokers.Destinations.Count, options.Brokers.Deadline.TotalMilliseconds);

        if (management.Enabled)
        {
            app.UseManagementEndpoint();
        }

        app.UseXksEntry();
        app.MapPing();
        app.MapXksProxy();
        return app;
    }
}
