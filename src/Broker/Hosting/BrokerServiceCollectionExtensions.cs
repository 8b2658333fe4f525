using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Health;
using XksGrpc.Broker.Keystores;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.Service;
using XksGrpc.Broker.Telemetry;

namespace XksGrpc.Broker.Hosting;

/// <summary>Composition of the broker, in request-path order.</summary>
internal static class BrokerServiceCollectionExtensions
{
    /// <summary>Options bound from "Broker", paths resolved, validated at start with every problem reported.</summary>
    public static IServiceCollection AddBrokerOptions(this IServiceCollection services, IConfiguration configuration, string baseDirectory)
    {
        services.AddOptions<BrokerOptions>().Bind(configuration.GetSection(BrokerOptions.Section)).ValidateOnStart();
        services.AddSingleton<IPostConfigureOptions<BrokerOptions>>(new ConfigurationPaths(baseDirectory));
        services.AddSingleton<IValidateOptions<BrokerOptions>, ListenOptionsValidator>();
        services.AddSingleton<IValidateOptions<BrokerOptions>, Pkcs11OptionsValidator>();
        services.AddSingleton<IValidateOptions<BrokerOptions>, KeystoresValidator>();
        services.AddSingleton<IValidateOptions<BrokerOptions>, LimitsValidator>();
        return services;
    }

    public static IServiceCollection AddBroker(this IServiceCollection services, IConfiguration configuration, string baseDirectory)
    {
        services.AddBrokerOptions(configuration, baseDirectory);
        services.AddMetrics();

        // Transport → gRPC (errors, logging) → operations → keystore policy → HSM.
        services.AddGrpc(o =>
        {
            o.Interceptors.Add<BrokerCallInterceptor>();
            o.EnableDetailedErrors = false;
            o.ResponseCompressionAlgorithm = null;
            o.IgnoreUnknownServices = false;
        });
        services.AddSingleton<IConfigureOptions<GrpcServiceOptions>, ConfigureGrpcMessageSize>();
        services.AddSingleton<BrokerCallInterceptor>();
        services.AddSingleton<GetKeyMetadataOperation>();
        services.AddSingleton<EncryptOperation>();
        services.AddSingleton<DecryptOperation>();
        services.AddSingleton<GetHealthStatusOperation>();
        services.AddSingleton<KeystorePolicy>();
        services.AddSingleton<Hsm>();
        services.AddSingleton<HealthMonitor>();
        services.AddSingleton<BrokerMetrics>();
        services.AddSingleton<HsmMetrics>();

        // Hosted services start in this order: tokens connected before the first health check.
        services.AddHostedService<HsmSupervisor>();
        services.AddHostedService(sp => sp.GetRequiredService<HealthMonitor>());
        services.AddSingleton<ShutdownDrain>();
        services.AddHostedService(sp => sp.GetRequiredService<ShutdownDrain>());
        return services;
    }

    /// <summary>A receive limit that fits the configured maxima, and nothing much larger.</summary>
    private sealed class ConfigureGrpcMessageSize(IOptions<BrokerOptions> options) : IConfigureOptions<GrpcServiceOptions>
    {
        public void Configure(GrpcServiceOptions grpc)
        {
            var limits = options.Value.Limits;
            grpc.MaxReceiveMessageSize = Math.Max(64 * 1024, limits.MaxPlaintextBytes + limits.MaxAadBytes + 4096);
            grpc.MaxSendMessageSize = Math.Max(64 * 1024, limits.MaxPlaintextBytes + 4096);
        }
    }
}
