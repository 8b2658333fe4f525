using System.Net;
using System.Text.Json.Nodes;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>Edge:Tls:ClientCertificate:Required: only KMS's certificate (pinned CA, allowed CN) gets through the handshake.</summary>
public sealed class MutualTlsTests() : FakeBrokerTest("xksgrpc-mtls-")
{
    [Fact]
    public async Task KmsClientCertificate_IsAccepted_AndNoneOrAnotherCnIsRefusedInTheHandshake()
    {
        var (_, kms) = TestPki.CreateClient(TestDirectory, "cks.kms.us-east-1.amazonaws.com");
        var other = Directory.CreateDirectory(Path.Combine(TestDirectory, "other")).FullName;
        var (_, stranger) = TestPki.CreateClient(other, "cks.kms.us-east-1.amazonaws.com");
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials, root =>
            root["Edge"]!["Tls"]!["ClientCertificate"] = new JsonObject
            {
                ["Required"] = true,
                ["CaFile"] = "client-ca.pem",
                ["AllowedSubjects"] = new JsonArray("cks.kms.us-east-1.amazonaws.com"),
            });
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials);

        using var withKms = new XksClient(edge.BaseAddress, Pki.Ca, kms);
        await withKms.WaitUntilReadyAsync();
        // The first call after start may spend the 200 ms broker deadline on cold paths when the test
        // run loads the machine (503): this test is about the handshake, so it waits for a 200.
        var reply = await withKms.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), EdgeHost.DefaultCredentials[0]);
        for (var until = DateTime.UtcNow.AddSeconds(10); reply.Status == HttpStatusCode.ServiceUnavailable && DateTime.UtcNow < until;)
        {
            await Task.Delay(100);
            reply = await withKms.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), EdgeHost.DefaultCredentials[0]);
        }

        Assert.Equal(HttpStatusCode.OK, reply.Status);

        using var without = new XksClient(edge.BaseAddress, Pki.Ca);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => without.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), EdgeHost.DefaultCredentials[0]));

        using var withStranger = new XksClient(edge.BaseAddress, Pki.Ca, stranger);
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => withStranger.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), EdgeHost.DefaultCredentials[0]));
    }
}
