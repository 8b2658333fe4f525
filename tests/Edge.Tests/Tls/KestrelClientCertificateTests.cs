using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XksGrpc.Edge.Tls;
using static XksGrpc.Edge.Tests.Tls.TestCertificates;

namespace XksGrpc.Edge.Tests.Tls;

/// <summary>
/// The validator wired into real Kestrel the way the edge does it (ClientCertificateMode.RequireCertificate +
/// ClientCertificateValidation): a refused certificate never reaches the application, so the client gets no
/// HTTP response at all, only a failed connection.
/// </summary>
public sealed class KestrelClientCertificateTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xks-mtls-kestrel-").FullName;
    private readonly X509Certificate2 _clientCa = CreateCa("Client CA");
    private readonly X509Certificate2 _server = CreateLeaf(CreateCa("Server CA"), "CN=localhost", ekus: ["1.3.6.1.5.5.7.3.1"], dnsNames: ["localhost"]);
    private ClientCertificateValidator _validator = null!;
    private WebApplication _app = null!;
    private Uri _address = null!;
    private int _requestsServed;

    public async Task InitializeAsync()
    {
        _validator = new ClientCertificateValidator(WritePem(_dir, "client-ca.pem", _clientCa), [KmsName]);
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(new HttpsConnectionAdapterOptions
            {
                ServerCertificate = _server,
                ClientCertificateMode = ClientCertificateMode.RequireCertificate,
                CheckCertificateRevocation = false,
                ClientCertificateValidation = (certificate, chain, errors) => _validator.Validate(certificate, chain, errors, out _),
            });
        }));
        _app = builder.Build();
        _app.MapGet("/", (HttpContext context) =>
        {
            Interlocked.Increment(ref _requestsServed);
            return context.Connection.ClientCertificate?.GetNameInfo(X509NameType.SimpleName, false) ?? "(none)";
        });
        await _app.StartAsync();
        string address = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        _address = new Uri(address.Replace("127.0.0.1", "localhost", StringComparison.Ordinal));
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        _validator.Dispose();
        _server.Dispose();
        _clientCa.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task Request_WithKmsCertificate_IsServed(string httpVersion)
    {
        using X509Certificate2 client = CreateLeaf(_clientCa);

        string body = await Send(client, Version.Parse(httpVersion));

        Assert.Equal(KmsName, body);
        Assert.Equal(1, _requestsServed);
    }

    [Theory]
    [InlineData("wrong-cn")]
    [InlineData("other-ca")]
    [InlineData("expired")]
    [InlineData("none")]
    public async Task Request_WithARefusedCertificate_FailsTheConnectionWithoutAnHttpResponse(string kind)
    {
        using X509Certificate2 otherCa = CreateCa("Other CA");
        using X509Certificate2? client = kind switch
        {
            "wrong-cn" => CreateLeaf(_clientCa, subject: "CN=cks.kms.eu-west-1.amazonaws.com"),
            "other-ca" => CreateLeaf(otherCa),
            "expired" => CreateLeaf(_clientCa, notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1)),
            _ => null,
        };

        await Assert.ThrowsAsync<HttpRequestException>(() => Send(client, HttpVersion.Version20));

        Assert.Equal(0, _requestsServed);
    }

    private async Task<string> Send(X509Certificate2? client, Version version)
    {
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = client is null ? null : [client],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => client!,
                RemoteCertificateValidationCallback = (_, _, _, _) => true, // the server side is under test
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(15) };
        using var request = new HttpRequestMessage(HttpMethod.Get, _address) { Version = version, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using HttpResponseMessage response = await http.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }
}
