using System.Net;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using XksGrpc.Edge.Configuration;
using Microsoft.Extensions.Logging;
using XksGrpc.Edge.Tls;
using XksGrpc.Edge.Tls.Handshake;
using XksGrpc.Observability;

namespace XksGrpc.Edge.Hosting;

/// <summary>
/// Kestrel for the XKS endpoint (spec, "API content type"): HTTPS only, TLS 1.2/1.3 with the
/// cipher-suite policy, ALPN h2 and http/1.1 (falling back to HTTP/1.1), the PEM certificate
/// with reload, optional client certificates checked during the handshake, and limits that keep
/// slow or oversized requests from tying the edge up.
/// </summary>
internal static class EdgeKestrel
{
    /// <summary>How much of an oversized body the edge reads and discards after answering 501.</summary>
    public const int OversizedBodyDrainBytes = 16 * 1024 * 1024;

    public static IWebHostBuilder UseEdgeKestrel(this IWebHostBuilder webHost)
    {
        webHost.ConfigureKestrel((context, kestrel) =>
        {
            var services = kestrel.ApplicationServices;
            var options = services.GetRequiredService<IOptions<EdgeOptions>>().Value;
            var certificates = services.GetRequiredService<ServerCertificateStore>();
            var clientValidator = options.Tls.ClientCertificate.Required ? services.GetService<IClientCertificateValidator>() : null;
            var gateLogger = services.GetRequiredService<ILoggerFactory>().CreateLogger("XksGrpc.Edge.Tls.ClientCertificateGate");
            if (options.Tls.ClientCertificate.Required && clientValidator is null)
            {
                throw new InvalidOperationException(
                    "Edge:Tls:ClientCertificate:Required is true but no client-certificate validator is registered.");
            }

            kestrel.AddServerHeader = false;
            var limits = kestrel.Limits;
            // The XKS stage refuses a body over Edge:Limits:MaxRequestBodyBytes itself (501, spec JSON).
            // Kestrel's own cap is higher so that, after that answer, Kestrel drains (reads and
            // discards, for at most its 5 s drain timeout) what the client was still sending: closing
            // a socket with unread input sends a TCP reset, and the reset would destroy the answer
            // before the client reads it. Beyond this cap Kestrel resets the connection.
            limits.MaxRequestBodySize = options.Limits.MaxRequestBodyBytes + OversizedBodyDrainBytes;
            limits.RequestHeadersTimeout = options.Limits.RequestHeadersTimeout;
            limits.KeepAliveTimeout = options.Limits.KeepAliveTimeout;
            limits.MaxConcurrentConnections = options.Limits.MaxConcurrentConnections;
            // An upgraded connection (there is none in XKS) counts against the same budget.
            limits.MaxConcurrentUpgradedConnections = 0;
            limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(5));
            limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 1024, gracePeriod: TimeSpan.FromSeconds(5));
            limits.MaxRequestHeadersTotalSize = 32 * 1024;
            limits.MaxRequestLineSize = 8 * 1024;
            limits.Http2.MaxStreamsPerConnection = 256;

            var cipherSuites = TlsPolicy.CreateCipherSuitesPolicy();
            Action<ListenOptions> configure = listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                var https = new HttpsConnectionAdapterOptions();
                {
                    https.SslProtocols = TlsPolicy.Protocols;
                    https.ServerCertificateSelector = (_, _) => certificates.Current;
                    https.HandshakeTimeout = TimeSpan.FromSeconds(10);
                    https.CheckCertificateRevocation = false;
                    if (options.Tls.ClientCertificate.Required)
                    {
                        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                        https.ClientCertificateValidation = (certificate, chain, errors) => clientValidator!.Validate(certificate, chain, errors);
                    }
                    else
                    {
                        https.ClientCertificateMode = ClientCertificateMode.NoCertificate;
                    }

                    if (cipherSuites is not null)
                    {
                        https.OnAuthenticate = (_, ssl) => ssl.CipherSuitesPolicy = cipherSuites;
                    }
                }

                if (clientValidator is GatedClientCertificateCheck gated)
                {
                    // A refused client certificate must end the handshake with a handshake_failure
                    // alert (spec; AWS's negative mTLS test): the gate answers below TLS (TLS 1.2 only).
                    listen.UseHttpsWithClientCertificateGate(https, gated.Validate, gateLogger);
                }
                else
                {
                    listen.UseHttps(https);
                }
            };

            if (options.Management.Enabled)
            {
                ManagementEndpoint.Listen(kestrel, options.Management);
            }

            var address = options.Listen.Address;
            if (address is "*" or "any")
            {
                kestrel.ListenAnyIP(options.Listen.Port, configure);
            }
            else if (address == "localhost")
            {
                kestrel.ListenLocalhost(options.Listen.Port, configure);
            }
            else
            {
                kestrel.Listen(IPAddress.Parse(address), options.Listen.Port, configure);
            }
        });
        return webHost;
    }
}
