using System.Diagnostics;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Keystores;

/// <summary>
/// Broker:Keystores follows the configuration file without a restart: a key added to a keystore's
/// list opens, a removed one closes, and an invalid file leaves the last valid lists in force.
/// A broker of its own on the shared token, so the shared broker's lists stay untouched.
/// </summary>
[Collection(BrokerCollection.Name)]
public sealed class KeystoreReloadTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task KeyLists_FollowTheConfigurationFile_AndAnInvalidFileKeepsTheLastGoodLists()
    {
        var directory = BrokerHost.NewDirectory("reload");
        await using var host = await BrokerHost.StartAsync(directory, BrokerHost.Config(directory, Lists(["foo"])));
        var client = host.Client;

        Assert.Equal(KeyStatus.Enabled, (await client.GetKeyMetadataAsync(KeyMetadata("foo"))).KeyStatus);
        await AssertXksError(XksErrorName.KeyNotFoundException, client.GetKeyMetadataAsync(KeyMetadata("bar")));

        // Added: "bar" opens for ks1, without a restart.
        BrokerHost.WriteConfig(directory, BrokerHost.Config(directory, Lists(["foo", "bar"])));
        await Eventually(() => Opens(client, "bar"), host);
        Assert.Contains(host.Logs.Entries, e => e.Message.Contains("Keystore key lists reloaded", StringComparison.Ordinal));

        // Invalid (a key id outside the spec's characters): refused, logged, "bar" stays open.
        BrokerHost.WriteConfig(directory, BrokerHost.Config(directory, Lists(["foo", "bar", "not a key id!"])));
        await Eventually(() => Task.FromResult(host.Logs.Entries.Any(e => e.Message.Contains("not reloaded", StringComparison.Ordinal))), host);
        Assert.Equal(KeyStatus.Enabled, (await client.GetKeyMetadataAsync(KeyMetadata("bar"))).KeyStatus);

        // Removed: "bar" closes again, answered as a missing key.
        BrokerHost.WriteConfig(directory, BrokerHost.Config(directory, Lists(["foo"])));
        await Eventually(async () => !await Opens(client, "bar"), host);
        await AssertXksError(XksErrorName.KeyNotFoundException, client.GetKeyMetadataAsync(KeyMetadata("bar")));
        Assert.Equal(KeyStatus.Enabled, (await client.GetKeyMetadataAsync(KeyMetadata("foo"))).KeyStatus);
    }

    private static async Task<bool> Opens(XksBroker.XksBrokerClient client, string key)
    {
        try
        {
            return (await client.GetKeyMetadataAsync(KeyMetadata(key))).KeyStatus == KeyStatus.Enabled;
        }
        catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.NotFound)
        {
            return false;
        }
    }

    private static Dictionary<string, string[]> Lists(string[] ks1) => new() { ["ks1"] = ks1, ["ks2"] = ["foo"] };

    private static async Task Eventually(Func<Task<bool>> condition, BrokerHost host)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(15), "the broker did not pick up the configuration change within 15 s; its keystore log lines: "
                + string.Join(" | ", host.Logs.Entries.Where(e => e.Message.Contains("Keystore key lists", StringComparison.Ordinal)).Select(e => e.Message)));
            await Task.Delay(100);
        }
    }
}
