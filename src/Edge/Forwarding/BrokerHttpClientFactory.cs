using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;
using XksGrpc.Edge.Configuration;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// The HTTP/2 client YARP uses towards the brokers: Unix sockets through the connect callback,
/// and for https brokers mutual TLS with our client certificate and a pinned CA (the system
/// trust store is never consulted).
/// </summary>
internal sealed class BrokerHttpClientFactory(
    BrokerEndpoints endpoints,
    IOptions<EdgeOptions> options,
    ILogger<ForwarderHttpClientFactory> logger) : ForwarderHttpClientFactory(logger)
{
    private readonly Lazy<BrokerTlsMaterial?> _tls = new(() => BrokerTlsMaterial.Load(options.Value.Brokers.Tls));

    protected override void ConfigureHandler(ForwarderHttpClientContext context, SocketsHttpHandler handler)
    {
        base.ConfigureHandler(context, handler);
        handler.ConnectCallback = endpoints.ConnectAsync;
        handler.EnableMultipleHttp2Connections = true;
        handler.PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5);
        handler.KeepAlivePingDelay = TimeSpan.FromSeconds(20);
        handler.KeepAlivePingTimeout = TimeSpan.FromSeconds(5);
        handler.KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests;
        handler.ConnectTimeout = TimeSpan.FromSeconds(1);

        if (_tls.Value is { } tls)
        {
            handler.SslOptions.ClientCertificates = new X509CertificateCollection { tls.ClientCertificate };
            handler.SslOptions.LocalCertificateSelectionCallback = (_, _, _, _, _) => tls.ClientCertificate;
            handler.SslOptions.RemoteCertificateValidationCallback = tls.ValidateServer;
            if (tls.ServerName is { Length: > 0 } serverName)
            {
                handler.SslOptions.TargetHost = serverName;
            }
        }
    }
}

/// <summary>Client certificate and pinned CA for https brokers.</summary>
internal sealed class BrokerTlsMaterial(X509Certificate2 clientCertificate, X509Certificate2Collection trustedCas, string? serverName)
{
    public X509Certificate2 ClientCertificate { get; } = clientCertificate;

    public string? ServerName { get; } = serverName;

    public static BrokerTlsMaterial? Load(BrokerTlsOptions options)
    {
        if (string.IsNullOrEmpty(options.CaFile) || string.IsNullOrEmpty(options.CertificateFile) || string.IsNullOrEmpty(options.KeyFile))
        {
            return null;
        }

        var cas = new X509Certificate2Collection();
        cas.ImportFromPemFile(options.CaFile);
        var certificate = X509Certificate2.CreateFromPemFile(options.CertificateFile, options.KeyFile);
        return new BrokerTlsMaterial(certificate, cas, options.ServerName);
    }

    /// <summary>The broker's certificate must chain to the pinned CA and match the expected name.</summary>
    public bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (certificate is null || (errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateNameMismatch)) != 0)
        {
            return false;
        }

        using var pinned = new X509Chain();
        pinned.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        pinned.ChainPolicy.CustomTrustStore.AddRange(trustedCas);
        pinned.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (chain is not null)
        {
            foreach (var element in chain.ChainElements)
            {
                pinned.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        using var leaf = new X509Certificate2(certificate);
        return pinned.Build(leaf);
    }
}
