using Microsoft.Extensions.Options;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Tests.Infrastructure;

namespace XksGrpc.Broker.Tests.Configuration;

/// <summary>Start-up refusals: every problem at once, naming the setting.</summary>
[Collection(BrokerCollection.Name)]
public sealed class OptionsValidationTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task Start_WithGroupReadablePinFile_IsRefusedNamingTheFile()
    {
        var directory = BrokerHost.NewDirectory("badpin");
        var pin = Path.Combine(directory, "pin");
        File.WriteAllText(pin, SoftHsmEnvironment.UserPin);
        File.SetUnixFileMode(pin, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead);
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo"] },
            broker => broker["Pkcs11"]!["Tokens"]![0]!["PinFile"] = "pin");

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => BrokerHost.StartAsync(directory, config));

        var failure = Assert.Single(e.Failures);
        Assert.Contains("PinFile", failure);
        Assert.Contains(pin, failure);
        Assert.Contains("group or others", failure);
        Assert.DoesNotContain(SoftHsmEnvironment.UserPin, e.Message);
    }

    [Fact]
    public async Task Start_WithManyProblems_ReportsEveryOneNamingItsSetting()
    {
        var directory = BrokerHost.NewDirectory("badconfig");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["foo", "bad id", "xks-health"] }, broker =>
        {
            broker["Pkcs11"]!["SessionPoolSize"] = 0;
            broker["Pkcs11"]!["HealthCheckInterval"] = "00:02:00";
            broker["Limits"]!["MaxPlaintextBytes"] = 100;
            broker["Listen"]!["SocketMode"] = "rw-rw----";
        });

        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => BrokerHost.StartAsync(directory, config));

        Assert.Contains(e.Failures, f => f.StartsWith("Broker:Pkcs11:SessionPoolSize", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Broker:Pkcs11:HealthCheckInterval", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Broker:Limits:MaxPlaintextBytes", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Broker:Listen:SocketMode", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Broker:Keystores:0:Keys:1", StringComparison.Ordinal));
        Assert.Contains(e.Failures, f => f.StartsWith("Broker:Keystores:0:Keys:2", StringComparison.Ordinal) && f.Contains("health"));
        Assert.Equal(6, e.Failures.Count());
    }

    [Fact]
    public void ManagementListener_IsOffByDefault_AndChecksPortAddressAndTheTcpPort()
    {
        var validator = new ListenOptionsValidator();
        var options = new BrokerOptions { Listen = { UnixSocket = "/run/xksgrpc/broker.sock" } };
        Assert.False(options.Management.Enabled);
        Assert.True(validator.Validate(null, options).Succeeded);

        options.Management.Port = 9465;
        Assert.True(validator.Validate(null, options).Succeeded);

        options.Management.Port = -1;
        options.Management.Address = "not-an-ip";
        var failures = validator.Validate(null, options).Failures!.ToList();
        Assert.Contains(failures, f => f.StartsWith("Broker:Management:Port", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Broker:Management:Address", StringComparison.Ordinal));
        Assert.Equal(2, failures.Count);

        options.Management = new() { Port = 5001 };
        options.Listen.Tcp = new TcpListenOptions { Port = 5001, Insecure = true };
        var shared = Assert.Single(validator.Validate(null, options).Failures!);
        Assert.StartsWith("Broker:Management:Port", shared, StringComparison.Ordinal);
        Assert.Contains("Broker:Listen:Tcp:Port", shared, StringComparison.Ordinal);
    }

    [Fact]
    public void PinSource_FromEnvironmentVariable_IsReadAndAMissingOneIsAProblem()
    {
        var token = new TokenOptions { Id = "t", Label = "x", PinEnv = "XKSGRPC_TEST_PIN_" + Guid.NewGuid().ToString("N") };
        Assert.Contains("PinEnv", PinSource.Problem(token, "Broker:Pkcs11:Tokens:0"));

        Environment.SetEnvironmentVariable(token.PinEnv, "1234\n");
        try
        {
            Assert.Null(PinSource.Problem(token, "Broker:Pkcs11:Tokens:0"));
            Assert.Equal("1234"u8.ToArray(), PinSource.Read(token));
        }
        finally
        {
            Environment.SetEnvironmentVariable(token.PinEnv, null);
        }
    }

    [Fact]
    public void PinSource_WithBothOrNeitherSource_IsAProblem()
    {
        Assert.NotNull(PinSource.Problem(new TokenOptions { Id = "t" }, "s"));
        Assert.NotNull(PinSource.Problem(new TokenOptions { Id = "t", PinFile = SoftHsmEnvironment.PinFile, PinEnv = "X" }, "s"));
    }

    [Fact]
    public void RelativePaths_AreResolvedAgainstTheConfigFileDirectory()
    {
        var options = new BrokerOptions
        {
            Listen = { UnixSocket = "run/b.sock" },
            Pkcs11 = { ModulePath = "lib/module.so", Tokens = [new TokenOptions { PinFile = "secrets/pin" }] },
        };

        new ConfigurationPaths("/etc/xks").PostConfigure(null, options);

        Assert.Equal("/etc/xks/run/b.sock", options.Listen.UnixSocket);
        Assert.Equal("/etc/xks/lib/module.so", options.Pkcs11.ModulePath);
        Assert.Equal("/etc/xks/secrets/pin", options.Pkcs11.Tokens[0].PinFile);
    }
}
