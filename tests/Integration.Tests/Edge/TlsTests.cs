using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>The TLS face of the edge (spec, "API content type"): versions, suites, ALPN, certificate reload.</summary>
public sealed class TlsTests() : FakeBrokerTest("xksgrpc-tls-")
{
    private EdgeHost _edge = null!;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        _edge = await EdgeHost.StartAsync(EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials), EdgeHost.DefaultCredentials);
    }

    public override async Task DisposeAsync()
    {
        await _edge.DisposeAsync();
        await base.DisposeAsync();
    }

    private async Task<(SslProtocols Protocol, TlsCipherSuite Suite, string Alpn, X509Certificate2 Certificate)> HandshakeAsync(
        SslProtocols protocols, TlsCipherSuite[]? suites = null, string[]? alpn = null)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(_edge.BaseAddress.Host, _edge.BaseAddress.Port);
        await using var ssl = new SslStream(tcp.GetStream());
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = protocols,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
            ApplicationProtocols = [.. (alpn ?? ["h2", "http/1.1"]).Select(p => new SslApplicationProtocol(p))],
        };
        if (suites is not null && !OperatingSystem.IsWindows())
        {
            options.CipherSuitesPolicy = new CipherSuitesPolicy(suites);
        }

        await ssl.AuthenticateAsClientAsync(options);
        return (ssl.SslProtocol, ssl.NegotiatedCipherSuite, ssl.NegotiatedApplicationProtocol.ToString(),
            X509CertificateLoader.LoadCertificate(ssl.RemoteCertificate!.GetRawCertData()));
    }

    [Fact]
    public async Task Tls13_WithTheSpecsAes256Suite_IsAccepted()
    {
        var result = await HandshakeAsync(SslProtocols.Tls13, [TlsCipherSuite.TLS_AES_256_GCM_SHA384]);

        Assert.Equal(SslProtocols.Tls13, result.Protocol);
        Assert.Equal(TlsCipherSuite.TLS_AES_256_GCM_SHA384, result.Suite);
    }

    [Fact]
    public async Task Tls13_WithChaCha20_IsAccepted()
    {
        var result = await HandshakeAsync(SslProtocols.Tls13, [TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256]);

        Assert.Equal(TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256, result.Suite);
    }

    [Fact]
    public async Task Tls12_WithTheSpecsEcdheAes256GcmSuite_IsAccepted()
    {
        var result = await HandshakeAsync(SslProtocols.Tls12, [TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384]);

        Assert.Equal(SslProtocols.Tls12, result.Protocol);
        Assert.Equal(TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, result.Suite);
    }

    [Fact]
    public async Task Tls12_WithOnlyACbcSuite_IsRefused()
        => await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(SslProtocols.Tls12, [TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384]));

    [Fact]
    public async Task Tls11_IsRefused()
    {
#pragma warning disable SYSLIB0039 // TLS 1.1 on purpose: it must fail.
        await Assert.ThrowsAnyAsync<Exception>(() => HandshakeAsync(SslProtocols.Tls11));
#pragma warning restore SYSLIB0039
    }

    [Theory]
    [InlineData("h2", "h2")]
    [InlineData("http/1.1", "http/1.1")]
    public async Task Alpn_OffersHttp2AndFallsBackToHttp11(string offered, string expected)
    {
        var result = await HandshakeAsync(SslProtocols.Tls12 | SslProtocols.Tls13, alpn: [offered]);

        Assert.Equal(expected, result.Alpn);
    }

    [Fact]
    public async Task ChangedCertificateFiles_AreServedWithoutRestart()
    {
        var before = (await HandshakeAsync(SslProtocols.Tls13)).Certificate;
        Assert.Equal(Pki.Server.SerialNumber, before.SerialNumber);

        var renewed = TestPki.IssueServer(Pki.Ca, TestDirectory, "server", DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));

        var until = DateTime.UtcNow.AddSeconds(20);
        X509Certificate2 served;
        do
        {
            await Task.Delay(200);
            served = (await HandshakeAsync(SslProtocols.Tls13)).Certificate;
        }
        while (served.SerialNumber != renewed.SerialNumber && DateTime.UtcNow < until);

        Assert.Equal(renewed.SerialNumber, served.SerialNumber);
    }
}
