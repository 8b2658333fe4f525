using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using XksGrpc.Edge.Tls;
using static XksGrpc.Edge.Tests.Tls.TestCertificates;

namespace XksGrpc.Edge.Tests.Tls;

/// <summary>
/// Real TLS handshakes over loopback: the server side uses the validator as its client-certificate
/// callback, as Kestrel does, and must refuse the handshake itself (spec "Authentication": MUST terminate
/// the TLS handshake), never complete it and fail later.
/// </summary>
public sealed class ClientCertificateHandshakeTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(15);

    private readonly string _dir = Directory.CreateTempSubdirectory("xks-mtls-hs-").FullName;
    private readonly X509Certificate2 _clientCa = CreateCa("Client CA");
    private readonly X509Certificate2 _serverCa = CreateCa("Server CA");
    private readonly X509Certificate2 _server;
    private readonly ClientCertificateValidator _validator;

    public ClientCertificateHandshakeTests()
    {
        _server = CreateLeaf(_serverCa, "CN=localhost", ekus: ["1.3.6.1.5.5.7.3.1"], dnsNames: ["localhost"]);
        _validator = new ClientCertificateValidator(WritePem(_dir, "client-ca.pem", _clientCa), [KmsName]);
    }

    public void Dispose()
    {
        _validator.Dispose();
        _server.Dispose();
        _clientCa.Dispose();
        _serverCa.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    public static TheoryData<string> TlsVersions => new() { "Tls12", "Tls13" };

    [Theory]
    [MemberData(nameof(TlsVersions))]
    public async Task Handshake_WithKmsCertificateFromTheConfiguredCa_CompletesAndCarriesData(string version)
    {
        using X509Certificate2 client = CreateLeaf(_clientCa);

        (Exception? serverError, Exception? clientError, string? received) = await Handshake(client, Parse(version));

        Assert.Null(serverError);
        Assert.Null(clientError);
        Assert.Equal("ping", received);
    }

    [Theory]
    [MemberData(nameof(TlsVersions))]
    public async Task Handshake_WithWrongCommonName_IsTerminatedByTheServer(string version)
    {
        using X509Certificate2 client = CreateLeaf(_clientCa, subject: "CN=cks.kms.eu-west-1.amazonaws.com");

        await AssertRefused(client, Parse(version));
    }

    [Theory]
    [MemberData(nameof(TlsVersions))]
    public async Task Handshake_WithCertificateFromAnotherCa_IsTerminatedByTheServer(string version)
    {
        using X509Certificate2 otherCa = CreateCa("Other CA");
        using X509Certificate2 client = CreateLeaf(otherCa);

        await AssertRefused(client, Parse(version));
    }

    [Theory]
    [MemberData(nameof(TlsVersions))]
    public async Task Handshake_WithExpiredCertificate_IsTerminatedByTheServer(string version)
    {
        using X509Certificate2 client = CreateLeaf(_clientCa, notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        await AssertRefused(client, Parse(version));
    }

    [Theory]
    [MemberData(nameof(TlsVersions))]
    public async Task Handshake_WithoutClientCertificate_IsTerminatedByTheServer(string version)
    {
        await AssertRefused(null, Parse(version));
    }

    private static SslProtocols Parse(string version) => Enum.Parse<SslProtocols>(version);

    private async Task AssertRefused(X509Certificate2? client, SslProtocols protocol)
    {
        (Exception? serverError, Exception? clientError, string? received) = await Handshake(client, protocol);

        Assert.IsType<AuthenticationException>(serverError);
        Assert.Null(received);

        // TLS 1.2: the client's own handshake fails on the server's alert. TLS 1.3: the client finishes
        // first (client auth follows its Finished) and the alert surfaces on its first read.
        Assert.NotNull(clientError);
        Assert.True(clientError is AuthenticationException or IOException, clientError.ToString());
        Assert.True(_validator.Rejections > 0);
    }

    /// <summary>Runs one handshake; the server echoes one line when the handshake succeeds.</summary>
    private async Task<(Exception? Server, Exception? Client, string? Received)> Handshake(X509Certificate2? clientCertificate, SslProtocols protocol)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var cts = new CancellationTokenSource(Timeout);

        Task<Exception?> server = Task.Run(async () =>
        {
            using TcpClient accepted = await listener.AcceptTcpClientAsync(cts.Token);
            await using var tls = new SslStream(accepted.GetStream());
            try
            {
                await tls.AuthenticateAsServerAsync(
                    new SslServerAuthenticationOptions
                    {
                        ServerCertificate = _server,
                        ClientCertificateRequired = true,
                        EnabledSslProtocols = protocol,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        RemoteCertificateValidationCallback = (_, certificate, chain, errors) =>
                            _validator.Validate(certificate as X509Certificate2, chain, errors, out string _),
                    },
                    cts.Token);
                byte[] buffer = new byte[4];
                await tls.ReadExactlyAsync(buffer, cts.Token);
                await tls.WriteAsync(buffer, cts.Token);
                await tls.FlushAsync(cts.Token);
                return null;
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                return ex;
            }
        });

        Exception? clientError = null;
        string? received = null;
        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(IPAddress.Loopback, port, cts.Token);
            await using var tls = new SslStream(tcp.GetStream());
            try
            {
                await tls.AuthenticateAsClientAsync(
                    new SslClientAuthenticationOptions
                    {
                        TargetHost = "localhost",
                        EnabledSslProtocols = protocol,
                        ClientCertificates = clientCertificate is null ? null : [clientCertificate],
                        LocalCertificateSelectionCallback = (_, _, _, _, _) => clientCertificate!,
                        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
                        RemoteCertificateValidationCallback = (_, _, _, _) => true, // the server side is under test
                    },
                    cts.Token);
                await tls.WriteAsync("ping"u8.ToArray(), cts.Token);
                await tls.FlushAsync(cts.Token);
                byte[] buffer = new byte[4];
                int read = await tls.ReadAtLeastAsync(buffer, 4, throwOnEndOfStream: false, cts.Token);
                if (read == 4)
                {
                    received = System.Text.Encoding.ASCII.GetString(buffer);
                }
                else
                {
                    throw new IOException($"the server closed the connection after {read} bytes");
                }
            }
            catch (Exception ex) when (ex is AuthenticationException or IOException)
            {
                clientError = ex;
            }
        }

        return (await server, clientError, received);
    }
}
