using Microsoft.Extensions.Logging.Abstractions;
using XksGrpc.Broker.Admin;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Hosting;
using XksGrpc.Broker.Pkcs11;

namespace XksGrpc.Broker.Tests.Infrastructure;

/// <summary>
/// The shared broker of the "broker" collection: a SoftHSM token with the lab's demo keys (made with
/// the real `keys` command, in-process) and the broker serving it on a Unix socket.
/// </summary>
public sealed class BrokerFixture : IAsyncLifetime
{
    public static readonly string[] Ks1Keys =
    [
        "foo", "encrypt_only_key", "decrypt_only_key", "impotent_key", "disabled_key",
        "dup_key", "rot_key", "toggle_key", "absent_key", "late_key", "big_key", "gone_key",
    ];

    internal BrokerHost Host { get; private set; } = null!;

    internal V1.XksBroker.XksBrokerClient Client => Host.Client;

    internal LogSink Logs => Host.Logs;

    public async Task InitializeAsync()
    {
        var directory = BrokerHost.NewDirectory("main");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]>
        {
            ["ks1"] = Ks1Keys,
            ["ks2"] = ["foo", "bar"],
        });
        var path = BrokerHost.WriteConfig(directory, config);

        Keys(path, "create", "--label", "foo");
        Keys(path, "create", "--label", "bar");
        Keys(path, "create", "--label", "big_key");
        Keys(path, "create", "--label", "encrypt_only_key", "--usage", "encrypt");
        Keys(path, "create", "--label", "decrypt_only_key", "--usage", "decrypt");
        Keys(path, "create", "--label", "impotent_key", "--usage", "sign,verify");
        Keys(path, "create", "--label", "disabled_key");
        Keys(path, "disable", "--label", "disabled_key");
        Keys(path, "create", "--label", "rot_key");
        Keys(path, "create", "--label", "toggle_key");
        Keys(path, "create", "--health");
        using (var admin = OpenAdmin())
        {
            admin.Keys.Generate("dup_key", KeyUsage.Encrypt | KeyUsage.Decrypt);
            admin.Keys.Generate("dup_key", KeyUsage.Encrypt | KeyUsage.Decrypt);
        }

        Host = await BrokerHost.StartAsync(directory, config);
    }

    public async Task DisposeAsync()
    {
        if (Host is not null)
        {
            await Host.DisposeAsync();
        }

        try
        {
            Directory.Delete(SoftHsmEnvironment.Directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temporary directory left behind is harmless.
        }
    }

    /// <summary>Runs `XksGrpc.Broker keys ...` in-process; throws unless it exits 0.</summary>
    internal static string Keys(string configFile, params string[] args)
    {
        var (code, output, error) = RunKeys(configFile, args);
        if (code != 0)
        {
            throw new InvalidOperationException($"keys {string.Join(' ', args)} exited {code}: {error}");
        }

        return output;
    }

    internal static (int Code, string Output, string Error) RunKeys(string configFile, params string[] args)
        => RunKeysWithInput(configFile, "", args);

    /// <summary>As <see cref="RunKeys"/>, with <paramref name="input"/> as the command's standard input.</summary>
    internal static (int Code, string Output, string Error) RunKeysWithInput(string configFile, string input, params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var commandLine = BrokerCommandLine.Parse(["keys", args[0], "--config", configFile, .. args[1..]]);
        var code = KeysCommand.Run(commandLine, new StringReader(input), output, error);
        return (code, output.ToString(), error.ToString());
    }

    /// <summary>An admin session on the test token (shares the process's module with the broker).</summary>
    internal static AdminConnection OpenAdmin() =>
        AdminConnection.Open(SoftHsmEnvironment.ModulePath,
            new TokenOptions { Id = "hsm-1", Label = SoftHsmEnvironment.TokenLabel, PinFile = SoftHsmEnvironment.PinFile },
            NullLogger.Instance);

    /// <summary>Changes keys with <paramref name="change"/>, then has the broker re-read its catalog.</summary>
    internal void Admin(Action<KeyAdmin> change)
    {
        using (var admin = OpenAdmin())
        {
            change(admin.Keys);
        }

        Host.Service<Hsm>().RefreshKeys();
    }
}

[CollectionDefinition(Name)]
public sealed class BrokerCollection : ICollectionFixture<BrokerFixture>
{
    public const string Name = "broker";
}

/// <summary>
/// Base of tests on the shared broker: each test starts with an empty log and fails if the broker
/// logged an error it did not expect.
/// </summary>
public abstract class BrokerTest : IDisposable
{
    private readonly List<Func<LogSink.Entry, bool>> _expectedErrors = [];

    protected BrokerTest(BrokerFixture fixture)
    {
        Fixture = fixture;
        fixture.Logs.Clear();
    }

    public BrokerFixture Fixture { get; }

    internal V1.XksBroker.XksBrokerClient Client => Fixture.Client;

    internal void ExpectErrors(Func<LogSink.Entry, bool> match) => _expectedErrors.Add(match);

    public void Dispose()
    {
        var unexpected = Fixture.Logs.Errors.Where(e => !_expectedErrors.Any(m => m(e))).ToList();
        Assert.True(unexpected.Count == 0,
            "Unexpected error logs:\n" + string.Join('\n', unexpected.Select(e => $"{e.Category} {e.EventId}: {e.Message} {e.Exception}")));
        GC.SuppressFinalize(this);
    }
}
