using System.Diagnostics;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Pkcs11;

/// <summary>The session pool's bounded wait and the key handle cache's invalidation.</summary>
[Collection(BrokerCollection.Name)]
public sealed class SessionPoolTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task Request_WhenEverySessionIsBusy_IsDependencyTimeoutWithinTheConfiguredWait()
    {
        var directory = BrokerHost.NewDirectory("pool");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] }, broker =>
        {
            broker["Pkcs11"]!["SessionPoolSize"] = 1;
            broker["Pkcs11"]!["SessionWaitTimeout"] = "00:00:00.100";
        });
        await using var host = await BrokerHost.StartAsync(directory, config);
        var connection = host.Service<Hsm>().Tokens[0].Connection!;

        var held = await connection.AcquireAsync(TimeSpan.FromSeconds(1), CancellationToken.None);
        Assert.NotNull(held);
        try
        {
            var stopwatch = Stopwatch.StartNew();
            await AssertXksError(XksErrorName.DependencyTimeoutException, host.Client.EncryptAsync(Encrypt("foo", [1])));
            Assert.InRange(stopwatch.Elapsed, TimeSpan.FromMilliseconds(90), TimeSpan.FromSeconds(5));
        }
        finally
        {
            connection.Release(held!);
        }

        Assert.Equal(1, (await host.Client.EncryptAsync(Encrypt("foo", [1]))).Ciphertext.Length);
    }

    [Fact]
    public async Task KeyDeletedBehindTheBrokersBack_IsKeyNotFoundNotInternal()
    {
        // Without session copies the broker holds the token object's handle, which the deletion invalidates.
        var directory = BrokerHost.NewDirectory("stale-handle");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["gone_key"] },
            broker => broker["Pkcs11"]!["UseSessionKeyCopies"] = false);
        Fixture.Admin(keys => keys.Create("gone_key", KeyUsage.Encrypt | KeyUsage.Decrypt));
        await using var host = await BrokerHost.StartAsync(directory, config);
        await host.Client.EncryptAsync(Encrypt("gone_key", [1]));

        using (var admin = BrokerFixture.OpenAdmin())
        {
            Assert.Equal(1, admin.Keys.Destroy("gone_key"));
        }

        await AssertXksError(XksErrorName.KeyNotFoundException, host.Client.EncryptAsync(Encrypt("gone_key", [1])));
        Assert.Empty(host.Logs.Errors);
    }

    [Fact]
    public async Task KeyDeleted_IsKeyNotFoundOnceTheCatalogIsReread()
    {
        Fixture.Admin(keys => keys.Create("gone_key", KeyUsage.Encrypt | KeyUsage.Decrypt));
        await Client.EncryptAsync(Encrypt("gone_key", [1]));

        Fixture.Admin(keys => Assert.Equal(1, keys.Destroy("gone_key")));

        await AssertXksError(XksErrorName.KeyNotFoundException, Client.EncryptAsync(Encrypt("gone_key", [1])));
    }
}
