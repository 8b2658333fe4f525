using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Transport;

/// <summary>TCP with mutual TLS: the edge's certificate must chain to the pinned CA and carry an allowed CN.</summary>
[Collection(BrokerCollection.Name)]
public sealed class TcpTlsTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task ClientWithPinnedCaAndAllowedSubject_IsServed_OthersAreRefusedAtTheHandshake()
    {
        var directory = BrokerHost.NewDirectory("mtls");
        using var ca = Authority("XksGrpc test client CA");
        using var otherCa = Authority("Some other CA");
        using var serverCa = Authority("XksGrpc test server CA");
        using var server = Issue(serverCa, "localhost", serverAuth: true);
        File.WriteAllText(Path.Combine(directory, "client-ca.pem"), ca.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server.pem"), server.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, "server.key"), server.GetECDsaPrivateKey()!.ExportPkcs8PrivateKeyPem());

        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] }, broker =>
        {
            broker["Listen"] = new System.Text.Json.Nodes.JsonObject
            {
                ["Tcp"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["Address"] = "127.0.0.1", ["Port"] = 0,
                    ["CertificateFile"] = "server.pem", ["KeyFile"] = "server.key", ["ClientCaFile"] = "client-ca.pem",
                    ["AllowedClientSubjects"] = new System.Text.Json.Nodes.JsonArray("xks-edge"),
                },
            };
        });
        await using var host = await BrokerHost.StartAsync(directory, config, unixClient: false);
        var address = host.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        Assert.StartsWith("https://", address);

        using (var good = Issue(ca, "xks-edge", serverAuth: false))
        {
            var encrypted = await TlsClient(address, serverCa, good).EncryptAsync(Encrypt("foo", [7]));
            Assert.Equal(1, encrypted.Ciphertext.Length);
        }

        await Assert.ThrowsAsync<RpcException>(async () => await TlsClient(address, serverCa, null).EncryptAsync(Encrypt("foo", [7])));
        using (var wrongSubject = Issue(ca, "someone-else", serverAuth: false))
        {
            await Assert.ThrowsAsync<RpcException>(async () => await TlsClient(address, serverCa, wrongSubject).EncryptAsync(Encrypt("foo", [7])));
        }

        using (var wrongCa = Issue(otherCa, "xks-edge", serverAuth: false))
        {
            await Assert.ThrowsAsync<RpcException>(async () => await TlsClient(address, serverCa, wrongCa).EncryptAsync(Encrypt("foo", [7])));
        }

        var refusals = host.Logs.Entries.Where(e => e.EventId.Name == "ClientCertificateRejected").Select(e => e.Message).ToList();
        Assert.Contains(refusals, m => m.Contains("someone-else"));
        Assert.Contains(refusals, m => m.Contains("does not chain"));
    }

    [Fact]
    public async Task InsecureTcp_ServesPlainHttp2()
    {
        var directory = BrokerHost.NewDirectory("insecure");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] }, broker =>
        {
            broker["Listen"] = new System.Text.Json.Nodes.JsonObject
            {
                ["Tcp"] = new System.Text.Json.Nodes.JsonObject { ["Address"] = "127.0.0.1", ["Port"] = 0, ["Insecure"] = true },
            };
        });
        await using var host = await BrokerHost.StartAsync(directory, config, unixClient: false);
        var address = host.App.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();

        using var channel = GrpcChannel.ForAddress(address);
        var metadata = await new XksBroker.XksBrokerClient(channel).GetKeyMetadataAsync(KeyMetadata("foo"));

        Assert.Equal("AES_256", metadata.KeySpec);
        Assert.False(File.Exists(Path.Combine(directory, "run", "broker.sock")));
    }

    private static XksBroker.XksBrokerClient TlsClient(string address, X509Certificate2 serverCa, X509Certificate2? clientCertificate)
    {
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) =>
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(serverCa);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return certificate is not null && chain.Build(new X509Certificate2(certificate));
        };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [X509CertificateLoader.LoadPkcs12(clientCertificate.Export(X509ContentType.Pkcs12), null)];
        }

        return new XksBroker.XksBrokerClient(GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler }));
    }

    private static X509Certificate2 Authority(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(2));
    }

    private static X509Certificate2 Issue(X509Certificate2 authority, string commonName, bool serverAuth)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={commonName}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(serverAuth ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        if (serverAuth)
        {
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
        }

        var serial = RandomNumberGenerator.GetBytes(12);
        using var certificate = request.Create(authority, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1), serial);
        return certificate.CopyWithPrivateKey(key);
    }
}
