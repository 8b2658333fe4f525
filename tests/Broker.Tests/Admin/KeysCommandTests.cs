using XksGrpc.Broker.Tests.Infrastructure;

namespace XksGrpc.Broker.Tests.Admin;

/// <summary>`XksGrpc.Broker keys ...`, run in-process against the test token.</summary>
[Collection(BrokerCollection.Name)]
public sealed class KeysCommandTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    private string ConfigFile => Fixture.Host.ConfigFile;

    [Fact]
    public void Create_OfExistingKey_SaysSoAndSucceeds()
    {
        var (code, output, _) = BrokerFixture.RunKeys(ConfigFile, "create", "--label", "foo");

        Assert.Equal(0, code);
        Assert.StartsWith("exists foo", output);
    }

    [Fact]
    public void List_ShowsVersionsStatusAndUsage()
    {
        var (code, output, _) = BrokerFixture.RunKeys(ConfigFile, "list");

        Assert.Equal(0, code);
        var lines = output.Split('\n');
        Assert.Contains(lines, l => l.StartsWith("foo ", StringComparison.Ordinal) && l.Contains("ENABLED") && l.Contains("ENCRYPT,DECRYPT"));
        Assert.Contains(lines, l => l.StartsWith("disabled_key ", StringComparison.Ordinal) && l.Contains("DISABLED"));
        Assert.Contains(lines, l => l.StartsWith("dup_key ", StringComparison.Ordinal) && l.Contains("DUPLICATE"));
        Assert.Contains(lines, l => l.StartsWith("impotent_key ", StringComparison.Ordinal) && l.Contains("SIGN,VERIFY"));
    }

    [Fact]
    public void CreateRotateDisableEnable_ThroughTheCommand()
    {
        var id = "cli_" + Guid.NewGuid().ToString("N")[..8];

        Assert.StartsWith($"created {id} (ENCRYPT)", BrokerFixture.Keys(ConfigFile, "create", "--label", id, "--usage", "encrypt"));
        Assert.StartsWith($"created {id}#2", BrokerFixture.Keys(ConfigFile, "rotate", "--label", id));
        Assert.StartsWith($"disabled {id} (2 objects)", BrokerFixture.Keys(ConfigFile, "disable", "--label", id));
        Assert.StartsWith($"enabled {id}#2 (1 object)", BrokerFixture.Keys(ConfigFile, "enable", "--label", $"{id}#2"));

        var list = BrokerFixture.Keys(ConfigFile, "list").Split('\n');
        Assert.Contains(list, l => l.StartsWith(id + " ", StringComparison.Ordinal) && l.Contains("DISABLED") && l.Contains("ENCRYPT"));
        Assert.Contains(list, l => l.StartsWith(id + "#2 ", StringComparison.Ordinal) && l.Contains("ENABLED") && l.Contains("ENCRYPT"));
    }

    [Fact]
    public void Batch_RunsEachLineOnOneLogin_AndStopsAtTheFirstFailure()
    {
        var id = "batch_" + Guid.NewGuid().ToString("N")[..8];
        var (code, output, error) = BrokerFixture.RunKeysWithInput(ConfigFile, $"""
            # comment and blank lines are skipped

            create --label {id} --usage encrypt
            create --label {id}_b --usage decrypt
            disable --label {id}_b
            disable --label never_made_{id}
            create --label {id}_c
            """, "batch");

        Assert.Equal(1, code);
        Assert.Contains($"created {id} (ENCRYPT)", output);
        Assert.Contains($"disabled {id}_b", output);
        Assert.Contains("batch line 6 (disable --label never_made_", error);
        var list = BrokerFixture.Keys(ConfigFile, "list").Split('\n');
        Assert.Contains(list, l => l.StartsWith($"{id}_b ", StringComparison.Ordinal) && l.Contains("DISABLED") && l.Contains("DECRYPT"));
        Assert.DoesNotContain(list, l => l.StartsWith($"{id}_c", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("list --token hsm-1")]
    [InlineData("batch")]
    [InlineData("create --label")]
    public void Batch_LineThatIsNotASingleCommand_IsAUsageError(string line)
    {
        var (code, _, error) = BrokerFixture.RunKeysWithInput(ConfigFile, line, "batch");

        Assert.Equal(2, code);
        Assert.Contains("batch line 1", error);
    }

    [Theory]
    [InlineData("create", "--label", "x", "--usage", "fly")]
    [InlineData("create", "--label", "bad id")]
    [InlineData("create")]
    [InlineData("frobnicate")]
    public void BadArguments_ExitWithUsageError(params string[] args)
    {
        var (code, _, error) = BrokerFixture.RunKeys(ConfigFile, args);

        Assert.Equal(2, code);
        Assert.NotEmpty(error);
    }

    [Fact]
    public void Disable_OfUnknownLabel_Fails()
    {
        var (code, _, error) = BrokerFixture.RunKeys(ConfigFile, "disable", "--label", "never_made");

        Assert.Equal(1, code);
        Assert.Contains("never_made", error);
    }
}
