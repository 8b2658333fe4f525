using System.Diagnostics;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using XksGrpc.Broker.Health;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Health;

/// <summary>The deep health check, and an HSM outage the broker survives.</summary>
[Collection(BrokerCollection.Name)]
public sealed class HealthTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task GetHealthStatus_ReportsTheModuleVendorAndOneActiveEntryPerToken()
    {
        await Fixture.Host.Service<HealthMonitor>().CheckAllAsync(CancellationToken.None);

        var health = await Client.GetHealthStatusAsync(new GetHealthStatusRequest { Keystore = "ks1", RequestMetadata = Metadata("KmsHealthCheck") });

        Assert.Equal("SoftHSM", health.EkmVendor);
        var entry = Assert.Single(health.EkmFleetDetails);
        Assert.Equal("hsm-1", entry.Id);
        Assert.Contains("SoftHSM", entry.Model);
        Assert.Equal(EkmHealth.Active, entry.Health);
    }

    [Fact]
    public async Task HsmOutage_RequestsFailFastThenTheBrokerRecoversWithoutRestart()
    {
        ExpectErrors(e => e.EventId.Name == "TokenFaulted");
        var plaintext = "survives"u8.ToArray();
        var before = await Client.EncryptAsync(Encrypt("foo", plaintext));

        // Another user of the module calls C_Finalize under the broker: every session and the login vanish.
        var factories = new Pkcs11InteropFactories();
        factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, SoftHsmEnvironment.ModulePath, AppType.MultiThreaded).Dispose();

        var stopwatch = Stopwatch.StartNew();
        await AssertXksError(XksErrorName.InternalException, Client.EncryptAsync(Encrypt("foo", plaintext)));
        // Generous: CI machines are small and shared; the point is that nothing waits for the HSM to return.
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(5), $"the failing request took {stopwatch.Elapsed}");
        Assert.True(Fixture.Logs.Entries.Any(e => e.EventId.Name == "TokenFaulted"),
            string.Join('\n', Fixture.Logs.Entries.Select(e => $"{e.Level} {e.EventId.Name}: {e.Message}")));

        var deadline = DateTime.UtcNow.AddSeconds(15);
        EncryptResponse? after = null;
        while (after is null)
        {
            try
            {
                after = await Client.EncryptAsync(Encrypt("foo", plaintext));
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }

        Assert.Equal(plaintext, (await Client.DecryptAsync(Decrypt("foo", before))).Plaintext.ToByteArray());
        Assert.Equal(plaintext, (await Client.DecryptAsync(Decrypt("foo", after))).Plaintext.ToByteArray());
        var health = await Fixture.Host.Service<HealthMonitor>().CheckAllAsync(CancellationToken.None);
        Assert.Equal(EkmHealth.Active, Assert.Single(health.Tokens).Health);
    }
}

/// <summary>A token that works but whose health key is missing.</summary>
[Collection(BrokerCollection.Name)]
public sealed class MissingHealthKeyTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task GetHealthStatus_WithoutTheHealthKey_IsDegradedWhileRequestsStillWork()
    {
        var directory = BrokerHost.NewDirectory("nohealthkey");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] },
            broker => broker["Pkcs11"]!["HealthKeyLabel"] = "no-such-health-key");
        await using var host = await BrokerHost.StartAsync(directory, config);

        var health = await host.Client.GetHealthStatusAsync(new GetHealthStatusRequest { Keystore = "ks1" });

        Assert.Equal(EkmHealth.Degraded, Assert.Single(health.EkmFleetDetails).Health);
        Assert.Equal(1, (await host.Client.EncryptAsync(Encrypt("foo", [1]))).Ciphertext.Length);
    }
}

/// <summary>Sessions closed under the broker (C_CloseAllSessions by another user of the module).</summary>
[Collection(BrokerCollection.Name)]
public sealed class SessionLossTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    // Kept referenced and never disposed: disposing would C_Finalize the module under the broker.
    private static IPkcs11Library? _intruder;

    [Fact]
    public async Task AllSessionsClosed_TheBrokerLogsInAgainAndServes()
    {
        ExpectErrors(e => e.EventId.Name == "TokenFaulted");
        var before = await Client.EncryptAsync(Encrypt("foo", [5]));

        var factories = new Pkcs11InteropFactories();
        _intruder ??= factories.Pkcs11LibraryFactory.LoadPkcs11Library(factories, SoftHsmEnvironment.ModulePath, AppType.MultiThreaded);
        _intruder.GetSlotList(SlotsType.WithTokenPresent).Single(s => s.GetTokenInfo().Label.Trim() == SoftHsmEnvironment.TokenLabel).CloseAllSessions();

        await AssertXksError(XksErrorName.InternalException, Client.EncryptAsync(Encrypt("foo", [5])));
        Assert.Contains(Fixture.Logs.Entries, e => e.EventId.Name == "TokenFaulted");

        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (true)
        {
            try
            {
                Assert.Equal(new byte[] { 5 }, (await Client.DecryptAsync(Decrypt("foo", before))).Plaintext.ToByteArray());
                break;
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
        }
    }
}

/// <summary>A cluster of two configured tokens whose first is away.</summary>
[Collection(BrokerCollection.Name)]
public sealed class FailoverTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task Requests_FailOverToTheNextTokenAndHealthReportsEachToken()
    {
        var directory = BrokerHost.NewDirectory("failover");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] }, broker =>
        {
            var tokens = broker["Pkcs11"]!["Tokens"]!.AsArray();
            var away = tokens[0]!.DeepClone().AsObject();
            away["Id"] = "hsm-away";
            away["Label"] = "no-such-token";
            tokens.Insert(0, away);
        });
        await using var host = await BrokerHost.StartAsync(directory, config);

        var encrypted = await host.Client.EncryptAsync(Encrypt("foo", [4, 2]));
        var decrypted = await host.Client.DecryptAsync(Decrypt("foo", encrypted));
        Assert.Equal(new byte[] { 4, 2 }, decrypted.Plaintext.ToByteArray());

        var health = await host.Client.GetHealthStatusAsync(new GetHealthStatusRequest { Keystore = "ks1" });
        Assert.Equal(["hsm-away", "hsm-1"], health.EkmFleetDetails.Select(d => d.Id));
        Assert.Equal([EkmHealth.Unavailable, EkmHealth.Active], health.EkmFleetDetails.Select(d => d.Health));
        Assert.Empty(host.Logs.Errors);
    }
}
