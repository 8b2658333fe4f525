namespace XksGrpc.Deploy.Tests.Lab;

/// <summary>One lab started from nothing (first run, default settings) for the tests of a class.</summary>
public sealed class LabFixture : IAsyncLifetime
{
    private LabProcess? _lab;

    internal LabProcess Lab => _lab ?? throw new InvalidOperationException("lab not started");

    public async Task InitializeAsync() =>
        _lab = await LabProcess.StartAsync(LabProcess.NewStateDirectory(), LabProcess.FreePort());

    public async Task DisposeAsync()
    {
        if (_lab is not null)
        {
            await _lab.DisposeAsync();
            LabProcess.DeleteState(_lab.State);
        }
    }
}

/// <summary>The lab tests start real processes on this machine's two cores: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LabCollection
{
    public const string Name = "lab";
}
