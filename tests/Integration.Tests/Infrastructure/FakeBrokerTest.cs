namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>
/// Base of test classes that start their own edges against one fake broker: a temporary directory,
/// a test PKI in it and the broker on a Unix socket there, all removed afterwards.
/// </summary>
public abstract class FakeBrokerTest(string prefix) : IAsyncLifetime
{
    private protected string TestDirectory { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    private protected TestPki Pki { get; private set; } = null!;

    private protected FakeBroker Broker { get; private set; } = null!;

    public virtual async Task InitializeAsync()
    {
        Pki = TestPki.Create(TestDirectory);
        Broker = await FakeBroker.StartAsync(Path.Combine(TestDirectory, "broker.sock"));
    }

    public virtual async Task DisposeAsync()
    {
        await Broker.DisposeAsync();
        try
        {
            Directory.Delete(TestDirectory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temporary directory left behind is harmless.
        }
    }
}
