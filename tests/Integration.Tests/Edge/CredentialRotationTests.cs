using System.Net;
using System.Text.Json.Nodes;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>Credentials added to or removed from edge.json take effect without a restart (spec, "SigV4 credentials rotation").</summary>
public sealed class CredentialRotationTests() : FakeBrokerTest("xksgrpc-rot-")
{
    [Fact]
    public async Task AddedCredential_IsAccepted_AndRemovedOneRefused_WithoutRestart()
    {
        var initial = EdgeHost.DefaultCredentials;
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, initial);
        await using var edge = await EdgeHost.StartAsync(config, initial);
        using var client = new XksClient(edge.BaseAddress, Pki.Ca);
        await client.WaitUntilReadyAsync();

        var fresh = TestCredential.Create("ks1", "KSONENEWNEWNEWNEWNEWNEW5");
        var old = initial[0];
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), fresh)).Status);

        // Rotate: drop the first ks1 credential, add a new one.
        EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, [fresh, initial[1], initial[2]]);

        var until = DateTime.UtcNow.AddSeconds(15);
        HttpStatusCode freshStatus, oldStatus;
        do
        {
            await Task.Delay(200);
            freshStatus = (await client.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), fresh)).Status;
            oldStatus = (await client.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), old)).Status;
        }
        while ((freshStatus != HttpStatusCode.OK || oldStatus != HttpStatusCode.Unauthorized) && DateTime.UtcNow < until);

        Assert.Equal(HttpStatusCode.OK, freshStatus);
        Assert.Equal(HttpStatusCode.Unauthorized, oldStatus);
        Assert.Equal(HttpStatusCode.OK, (await client.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), initial[1])).Status);
    }
}
