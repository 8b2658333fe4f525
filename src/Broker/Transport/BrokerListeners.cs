using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Logging;
using XksGrpc.Observability;

namespace XksGrpc.Broker.Transport;

/// <summary>
/// Kestrel endpoints of the broker: HTTP/2 only. A Unix socket (h2c) guarded by SO_PEERCRED and its
/// file mode, and/or TCP with TLS requiring the edge's client certificate (plain only when Insecure).
/// </summary>
internal static class BrokerListeners
{
    public static void Configure(KestrelServerOptions kestrel, BrokerOptions options, ILogger logger)
    {
        kestrel.AddServerHeader = false;
        kestrel.Limits.Http2.MaxStreamsPerConnection = 1024;
        kestrel.Limits.MaxRequestBodySize = 1024 * 1024;

        var listen = options.Listen;
        if (!string.IsNullOrEmpty(listen.UnixSocket))
        {
            var path = listen.UnixSocket;
            PrepareSocketPath(path, logger);
            var filter = new PeerCredentialsFilter(listen, logger);
            kestrel.ListenUnixSocket(path, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                l.Use(filter.Wrap);
            });
        }

        if (listen.Tcp is { } tcp)
        {
            var address = tcp.Address == "localhost" ? IPAddress.Loopback : IPAddress.Parse(tcp.Address);
            kestrel.Listen(address, tcp.Port, l =>
            {
                l.Protocols = HttpProtocols.Http2;
                if (tcp.Insecure)
                {
                    return;
                }

                var validator = new ClientCertificateValidator(tcp, logger);
                var certificate = X509Certificate2.CreateFromPemFile(tcp.CertificateFile!, tcp.KeyFile);
                l.UseHttps(new HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificate,
                    ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                    ClientCertificateValidation = validator.Validate,
                    SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
                });
            });
            BrokerLog.ListeningTcp(logger, tcp.Address, tcp.Port, tcp.Insecure ? "h2c, INSECURE" : "h2, mutual TLS");
        }
    }

    /// <summary>The management listener (metrics), when Broker:Management:Port is set.</summary>
    public static void ConfigureManagement(KestrelServerOptions kestrel, BrokerOptions options, ILogger logger)
    {
        if (options.Management.Enabled)
        {
            ManagementEndpoint.Listen(kestrel, options.Management);
            BrokerLog.ListeningTcp(logger, options.Management.Address, options.Management.Port, "HTTP/1.1, management: /metrics, /healthz");
        }
    }

    /// <summary>
    /// Creates the socket's directory if needed and removes a stale socket file left by a previous
    /// run; refuses to start when another process still answers on it.
    /// </summary>
    private static void PrepareSocketPath(string path, ILogger logger)
    {
        var directory = Path.GetDirectoryName(path);
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        if (!File.Exists(path))
        {
            return;
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new InvalidOperationException($"Broker:Listen:UnixSocket: '{path}' is in use by another process.");
            }
            catch (SocketException)
            {
                // Nobody listens: the file is stale.
            }
        }

        File.Delete(path);
        BrokerLog.StaleSocketRemoved(logger, path);
    }

    /// <summary>Applies SocketMode once Kestrel has bound the socket.</summary>
    public static void ApplySocketMode(BrokerOptions options, ILogger logger)
    {
        var listen = options.Listen;
        if (OperatingSystem.IsWindows() || string.IsNullOrEmpty(listen.UnixSocket) || !ListenOptionsValidator.TryParseMode(listen.SocketMode, out var mode))
        {
            return;
        }

        File.SetUnixFileMode(listen.UnixSocket, mode);
        BrokerLog.ListeningUnixSocket(logger, listen.UnixSocket, listen.SocketMode);
    }
}
