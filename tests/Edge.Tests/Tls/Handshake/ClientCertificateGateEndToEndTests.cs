using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace XksGrpc.Edge.Tests.Tls.Handshake;

/// <summary>
/// AWS's test_negative_mtls passes only if curl -v prints "TLS alert, handshake failure" (conformance notes §4.6).
/// These drive the real curl 7.88 / OpenSSL 3.0 against a real Kestrel with the gate.
/// </summary>
public sealed class ClientCertificateGateEndToEndTests(GatedKestrelFixture server) : IClassFixture<GatedKestrelFixture>
{
    private const string HandshakeFailureAlert = "TLS alert, handshake failure";

    public static TheoryData<string> BadCertificates { get; } = new()
    {
        "client-wrong-cn",
        "client-expired",
        "client-other-ca",
        "client-selfsigned",
        "client-expired-v1-unknown-issuer",
    };

    [Theory]
    [MemberData(nameof(BadCertificates))]
    public async Task Curl_WithBadCertificate_ReceivesHandshakeFailureAlert(string certificate)
    {
        CurlRun run = await server.CurlAsync(server.Client(certificate));

        Assert.Contains(HandshakeFailureAlert, run.Output);
        Assert.Contains("(IN), TLS alert, handshake failure (552)", run.Output);
        Assert.DoesNotContain("< HTTP/", run.Output, StringComparison.Ordinal);
        Assert.NotEqual(0, run.ExitCode);
    }

    [Fact]
    public async Task Curl_WithoutClientCertificate_ReceivesHandshakeFailureAlert()
    {
        CurlRun run = await server.CurlAsync(client: null);

        Assert.Contains(HandshakeFailureAlert, run.Output);
        Assert.NotEqual(0, run.ExitCode);
    }

    [Theory]
    [InlineData("--http1.1", "HTTP/1.1 200")]
    [InlineData("--http2", "HTTP/2 200")]
    public async Task Curl_WithGoodCertificate_GetsOk(string protocolOption, string statusLine)
    {
        CurlRun run = await server.CurlAsync(server.Certificates.Good, protocolOption);

        Assert.Equal(0, run.ExitCode);
        Assert.Contains(statusLine, run.Output);
        Assert.Contains("hello HTTP/", run.Output);
        Assert.Contains("cks.kms.us-east-1.amazonaws.com", run.Output);
        Assert.DoesNotContain("TLS alert", run.Output);
        Assert.Contains("SSL connection using TLSv1.2", run.Output);
    }

    [Fact]
    public async Task Curl_OfferingOnlyTls13_IsRefusedByTheServer()
    {
        CurlRun run = await server.CurlAsync(server.Certificates.Good, "--tlsv1.3");

        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains("TLS alert, protocol version", run.Output);
    }

    [Fact]
    public async Task Curl_ReconnectingWithGoodCertificate_ResumesSessionAndGetsOk()
    {
        // Two transfers, the second on a new connection (Connection: close), so curl offers its cached TLS 1.2 session.
        string url = $"https://localhost:{server.Port}/";
        CurlRun run = await server.CurlAsync(server.Certificates.Good, "--http1.1", "-H", "Connection: close", url);

        Assert.Equal(0, run.ExitCode);
        Assert.Equal(2, CountOf(run.Output, "HTTP/1.1 200"));
        Assert.DoesNotContain("handshake failure", run.Output);

        // The second connection is an abbreviated handshake (RFC 5246 §7.3): no Certificate message at all. The gate
        // lets it through because the server only holds sessions whose full handshake the gate accepted, and the
        // session still carries that validated certificate to the application.
        Assert.Contains("SSL re-using session ID", run.Output);
        Assert.Equal(2, CountOf(run.Output, "hello HTTP/1.1 " + TestCertificates.AllowedSubject));
        Assert.Contains(server.GateLog.Entries, e => e.Id.Id == 4101);
    }

    [Fact]
    public async Task ResumingASessionMadeOnAListenerWithoutTheGate_IsRefusedByTheTlsStack()
    {
        // .NET shares TLS sessions between listeners that use the same server certificate. A session created with an
        // other-CA certificate on an ungated listener resumes here without a Certificate message: the gate cannot see
        // it, but .NET runs ClientCertificateValidation again on resumption, and the connection never reaches HTTP.
        await using OtherListener other = await OtherListener.StartAsync(server.Certificates);
        string session = Path.Combine(server.Certificates.Directory, $"session-{Guid.NewGuid():N}.pem");
        TestCertificates c = server.Certificates;
        int validationsBefore = c.Validations;

        string created = await server.ShellAsync(
            $"openssl s_client -connect 127.0.0.1:{other.Port} -tls1_2 -CAfile {c.CaFile} -cert {c.OtherCaClient.CertificateFile} -key {c.OtherCaClient.KeyFile} -sess_out {session} </dev/null");
        string resumed = await ResumeAndGetAsync(session);

        // Control: the same client, resuming a session the gated listener made itself, gets its answer.
        string ownSession = Path.Combine(c.Directory, $"session-{Guid.NewGuid():N}.pem");
        await server.ShellAsync(
            $"openssl s_client -connect 127.0.0.1:{server.Port} -tls1_2 -CAfile {c.CaFile} -cert {c.Good.CertificateFile} -key {c.Good.KeyFile} -sess_out {ownSession} </dev/null");
        string control = await ResumeAndGetAsync(ownSession);
        Assert.Contains("Reused, TLSv1.2", control);
        Assert.Contains("HTTP/1.1 200", control);

        Assert.Contains("New, TLSv1.2", created);
        Assert.Contains("Reused, TLSv1.2", resumed);
        Assert.DoesNotContain("HTTP/1.1 200", resumed);
        Assert.DoesNotContain("hello", resumed);
        Assert.True(c.Validations > validationsBefore, "the TLS stack should have re-validated the resumed session's certificate");
    }

    [Fact]
    public async Task SslStream_WithBadCertificate_ThrowsAuthenticationException()
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(System.Net.IPAddress.Loopback, server.Port);
        await using var tls = new SslStream(tcp.GetStream());
        using X509Certificate2 ca = X509CertificateLoader.LoadCertificate(server.Certificates.Ca.RawData);
        var options = new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            EnabledSslProtocols = SslProtocols.Tls12,
            ClientCertificates = [server.Certificates.WrongCn.Certificate],
            CertificateChainPolicy = new X509ChainPolicy
            {
                TrustMode = X509ChainTrustMode.CustomRootTrust,
                CustomTrustStore = { ca },
                RevocationMode = X509RevocationMode.NoCheck,
            },
        };

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        AuthenticationException error = await Assert.ThrowsAsync<AuthenticationException>(
            () => tls.AuthenticateAsClientAsync(options, timeout.Token));

        Assert.Contains("handshake failure", error.ToString(), StringComparison.OrdinalIgnoreCase);
        Assert.Contains(server.GateLog.Entries, e => e.Level == LogLevel.Warning && e.Message.Contains("wrong.example.com", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Gate_ServingGoodAndBadClients_LogsRefusalsAsWarningsAndNoErrors()
    {
        await server.CurlAsync(server.Certificates.Good);
        await server.CurlAsync(server.Certificates.Expired);

        Assert.Contains(server.GateLog.Entries, e => e.Id.Id == 4100 && e.Level == LogLevel.Warning);
        Assert.DoesNotContain(server.GateLog.Entries, e => e.Level >= LogLevel.Error);
    }

    private Task<string> ResumeAndGetAsync(string session) => server.ShellAsync(
        $"(printf 'GET / HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n'; sleep 1) | " +
        $"openssl s_client -connect 127.0.0.1:{server.Port} -tls1_2 -CAfile {server.Certificates.CaFile} -sess_in {session} -ign_eof");

    private static int CountOf(string text, string value)
    {
        int count = 0;
        for (int i = text.IndexOf(value, StringComparison.Ordinal); i >= 0; i = text.IndexOf(value, i + value.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    /// <summary>A plain HTTPS listener in the same process, same server certificate, accepting any client certificate.</summary>
    private sealed class OtherListener : IAsyncDisposable
    {
        private readonly Microsoft.AspNetCore.Builder.WebApplication _app;

        private OtherListener(Microsoft.AspNetCore.Builder.WebApplication app, int port)
        {
            _app = app;
            Port = port;
        }

        public int Port { get; }

        public static async Task<OtherListener> StartAsync(TestCertificates certificates)
        {
            var builder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            Microsoft.AspNetCore.Hosting.WebHostBuilderKestrelExtensions.ConfigureKestrel(builder.WebHost, kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, 0, listen =>
                Microsoft.AspNetCore.Hosting.ListenOptionsHttpsExtensions.UseHttps(listen, new Microsoft.AspNetCore.Server.Kestrel.Https.HttpsConnectionAdapterOptions
                {
                    ServerCertificate = certificates.Server,
                    SslProtocols = SslProtocols.Tls12,
                    ClientCertificateMode = Microsoft.AspNetCore.Server.Kestrel.Https.ClientCertificateMode.AllowCertificate,
                    ClientCertificateValidation = (_, _, _) => true,
                })));
            var app = builder.Build();
            await app.StartAsync();
            return new OtherListener(app, GatedKestrelFixture.PortOf(app));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
