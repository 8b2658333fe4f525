using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Health;
using Yarp.ReverseProxy.Transforms;
using XksGrpc.Edge.Authentication;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Forwarding;
using XksGrpc.Edge.Metrics;
using XksGrpc.Edge.Pipeline;
using XksGrpc.Edge.Routing;
using XksGrpc.Edge.Tls;

namespace XksGrpc.Edge.Hosting;

/// <summary>The edge's composition, one extension per stage, used top to bottom by <see cref="EdgeApp"/>.</summary>
internal static class EdgeServiceCollectionExtensions
{
    /// <summary>Binds section "Edge" to <see cref="EdgeOptions"/>, resolves paths, validates at start.</summary>
    public static IServiceCollection AddEdgeConfiguration(this IServiceCollection services, IConfiguration configuration, EdgeConfigLocation location)
    {
        services.AddSingleton(location);
        services.AddOptions<EdgeOptions>().Bind(configuration.GetSection(EdgeOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IPostConfigureOptions<EdgeOptions>, ResolveEdgePaths>();
        services.AddSingleton<IValidateOptions<EdgeOptions>, ListenValidator>();
        services.AddSingleton<IValidateOptions<EdgeOptions>, ServerTlsValidator>();
        services.AddSingleton<IValidateOptions<EdgeOptions>, ProxyInfoValidator>();
        services.AddSingleton<IValidateOptions<EdgeOptions>, KeystoresValidator>();
        services.AddSingleton<IValidateOptions<EdgeOptions>, BrokersValidator>();
        services.AddSingleton<IValidateOptions<EdgeOptions>, LimitsValidator>();
        services.AddSingleton<IValidateOptions<EdgeOptions>, NoHsmPinValidator>();
        return services;
    }

    /// <summary>TLS material (server certificate with reload).</summary>
    public static IServiceCollection AddEdgeTls(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ServerCertificateStore>();
        services.TryAddSingleton<IClientCertificateValidator, GatedClientCertificateCheck>();
        return services;
    }

    /// <summary>
    /// SigV4 (spec Appendix A): the verifier over the credential store, fed from Edge:Keystores at
    /// start and on every change of the configuration file (rotation without restart).
    /// </summary>
    public static IServiceCollection AddEdgeAuthentication(this IServiceCollection services)
    {
        services.AddSigV4Verification();
        services.AddSingleton<CredentialLoader>();
        services.AddHostedService(sp => sp.GetRequiredService<CredentialLoader>());
        services.TryAddSingleton<IRequestAuthenticator, SigV4RequestAuthenticator>();
        return services;
    }

    /// <summary>Secondary authorization (issue 5): each keystore's PolicyFile, reloaded by the policy store.</summary>
    public static IServiceCollection AddEdgeAuthorization(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var keystores = sp.GetRequiredService<IOptions<EdgeOptions>>().Value.Keystores;
            return Authorization.PolicyStore.Create(keystores.ToDictionary(k => k.Name, k => k.PolicyFile, StringComparer.Ordinal));
        });
        services.TryAddSingleton<IRequestAuthorizer, PolicyRequestAuthorizer>();
        return services;
    }

    /// <summary>The tamper-evident audit log (Edge:Audit:File), when configured.</summary>
    public static IServiceCollection AddEdgeAudit(this IServiceCollection services, IConfiguration configuration, EdgeConfigLocation location)
    {
        var file = location.ResolveOptional(configuration[$"{EdgeOptions.SectionName}:Audit:File"]);
        if (!string.IsNullOrWhiteSpace(file))
        {
            services.AddSingleton(sp => Audit.AuditLog.Open(file, timeProvider: sp.GetRequiredService<TimeProvider>()));
            services.AddSingleton<IRequestAuditSink, AuditLogSink>();
        }

        return services;
    }

    /// <summary>Routing, quotas, metrics and the default seams of the XKS request pipeline.</summary>
    public static IServiceCollection AddXksPipeline(this IServiceCollection services)
    {
        services.AddMetrics();
        services.AddSingleton<EdgeMetrics>();
        services.AddSingleton(sp => new XksRouteTable(sp.GetRequiredService<IOptions<EdgeOptions>>().Value.Keystores));
        services.AddSingleton<KeystoreRateLimiters>();
        services.TryAddSingleton<IRequestAuthorizer, AllowAllAuthorizer>();
        return services;
    }

    /// <summary>YARP: the broker cluster from Edge:Brokers and the JSON↔gRPC translation.</summary>
    public static IServiceCollection AddBrokerForwarding(this IServiceCollection services)
    {
        services.AddSingleton<BrokerEndpoints>();
        services.AddSingleton<BrokerLiveness>();
        services.AddHostedService<BrokerWarmup>();
        services.AddSingleton<GrpcTranslation>();
        services.AddSingleton<IPassiveHealthCheckPolicy, BrokerPassiveHealth>();
        services.AddSingleton<IProxyConfigProvider, BrokerProxyConfigProvider>();
        services.AddSingleton<IForwarderHttpClientFactory, BrokerHttpClientFactory>();
        services.AddReverseProxy()
            .AddTransforms(context =>
            {
                if (context.Route.RouteId != BrokerProxyConfigProvider.RouteId)
                {
                    return;
                }

                // Nothing of the client's request or the broker's reply is copied: the translation
                // writes every header and body itself.
                context.CopyRequestHeaders = false;
                context.CopyResponseHeaders = false;
                context.CopyResponseTrailers = false;
                context.UseDefaultForwarders = false;
                var translation = context.Services.GetRequiredService<GrpcTranslation>();
                context.AddRequestTransform(translation.TransformRequestAsync);
                context.AddResponseTransform(BrokerPassiveHealth.ObserveReplyAsync);
                context.AddResponseTransform(translation.TransformResponseAsync);
            });
        return services;
    }

    /// <summary>The first middleware: XKS path classification, 404/405, and the per-request log line.</summary>
    public static IApplicationBuilder UseXksEntry(this IApplicationBuilder app) => app.UseMiddleware<XksEntryMiddleware>();

    /// <summary><c>GET /ping</c>: unauthenticated; 200 when a broker answers, else 503.</summary>
    public static IEndpointRouteBuilder MapPing(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapMethods(XksEntryMiddleware.PingPath, [HttpMethods.Get, HttpMethods.Head], async (HttpContext context, BrokerLiveness liveness) =>
        {
            var alive = await liveness.IsAliveAsync(context.RequestAborted);
            context.Response.StatusCode = alive ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync(alive ? "OK\n" : "NO BROKER\n", context.RequestAborted);
        });
        return endpoints;
    }

    /// <summary>
    /// The XKS proxy: YARP's pipeline with our stages (authenticate, validate, authorize, translate)
    /// before load balancing, one failover to another broker around it, the per-broker concurrency
    /// gate after it, and passive health checks.
    /// </summary>
    public static IEndpointRouteBuilder MapXksProxy(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapReverseProxy(pipeline =>
        {
            pipeline.UseMiddleware<XksRequestMiddleware>();
            pipeline.UseMiddleware<BrokerFailover>();
            pipeline.UseLoadBalancing();
            pipeline.UseMiddleware<BrokerConcurrencyGate>();
            pipeline.UsePassiveHealthChecks();
        });
        return endpoints;
    }
}
