using System.Security.Cryptography.X509Certificates;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>One broker and one edge shared by a test class; each test class gets its own directory.</summary>
public sealed class EdgeWithBrokerFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xksgrpc-it-").FullName;

    internal FakeBroker Broker { get; private set; } = null!;

    internal EdgeHost Edge { get; private set; } = null!;

    internal XksClient Client { get; private set; } = null!;

    internal X509Certificate2 Ca { get; private set; } = null!;

    internal IReadOnlyList<TestCredential> Credentials => EdgeHost.DefaultCredentials;

    internal TestCredential Ks1 => Credentials[0];

    internal TestCredential Ks1Second => Credentials[1];

    internal TestCredential Ks2 => Credentials[2];

    internal string Directory_ => _directory;

    public async Task InitializeAsync()
    {
        var pki = TestPki.Create(_directory);
        Ca = pki.Ca;
        Broker = await FakeBroker.StartAsync(Path.Combine(_directory, "broker.sock"));
        var config = EdgeHost.WriteConfig(_directory, Broker.SocketPath, Credentials);
        Edge = await EdgeHost.StartAsync(config, Credentials);
        Client = new XksClient(Edge.BaseAddress, Ca);
        await Client.WaitUntilReadyAsync();
        await WarmUpAsync();
    }

    /// <summary>
    /// One call of each API first: JIT and connection set-up on a loaded test machine can exceed
    /// the edge's 200 ms deadline, which is the behaviour under test elsewhere, not here.
    /// </summary>
    private async Task WarmUpAsync()
    {
        for (var attempt = 0; attempt < 10; attempt++)
        {
            var health = await Client.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), Ks1);
            await Client.PostAsync("/ks1/kms/xks/v1/keys/non_existing_key/metadata", XksBodies.KeyMetadata(), Ks1);
            var http2 = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1]).ToJsonString(), Ks1, System.Net.HttpVersion.Version20);
            if (health.Status == System.Net.HttpStatusCode.OK && http2.Status == System.Net.HttpStatusCode.OK)
            {
                return;
            }
        }
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Edge.DisposeAsync();
        await Broker.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
