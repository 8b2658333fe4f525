using Microsoft.Extensions.Hosting;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// Connects every token at start (a token that is away does not stop the broker: it serves
/// UNAVAILABLE/InternalException until the token is back) and keeps them connected.
/// </summary>
internal sealed class HsmSupervisor(Hsm hsm) : BackgroundService
{
    public override Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var token in hsm.Tokens)
        {
            token.TryConnect(TimeSpan.Zero);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.WhenAll(hsm.Tokens.Select(t => t.SuperviseAsync(stoppingToken))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
