using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Primitives;
using XksGrpc.Edge.Authentication;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Logging;

namespace XksGrpc.Edge.Pipeline;

/// <summary>
/// Feeds Edge:Keystores[].Credentials to the credential store: all at start (a bad credential stops
/// the edge), then again whenever the configuration file changes, so that credentials rotate
/// without a restart (spec, "SigV4 credentials rotation"); a bad reload keeps the previous set.
/// </summary>
internal sealed class CredentialLoader(IConfiguration configuration, EdgeConfigLocation location, CredentialStore store, ILogger<CredentialLoader> logger)
    : IHostedService, IDisposable
{
    private IDisposable? _subscription;

    /// <summary>The credentials the configuration names now, with absolute secret paths.</summary>
    public IReadOnlyList<CredentialSpec> ReadSpecs()
    {
        var options = new EdgeOptions();
        configuration.GetSection(EdgeOptions.SectionName).Bind(options);
        var specs = new List<CredentialSpec>();
        foreach (var keystore in options.Keystores)
        {
            foreach (var credential in keystore.Credentials)
            {
                specs.Add(new CredentialSpec(keystore.Name, credential.AccessKeyId, location.ResolveOptional(credential.SecretFile), credential.SecretEnv));
            }
        }

        return specs;
    }

    /// <summary>Loads the start-up set; throws <see cref="CredentialConfigurationException"/> listing every problem.</summary>
    public void LoadOrThrow() => store.ApplyOrThrow(ReadSpecs());

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
        return Task.CompletedTask;
    }

    private void Reload()
    {
        var result = store.Apply(ReadSpecs());
        if (result.Succeeded)
        {
            if (result.Added.Count + result.Removed.Count > 0)
            {
                EdgeLog.CredentialsReloaded(logger, result.Added.Count, result.Removed.Count, store.Count);
            }
        }
        else
        {
            EdgeLog.CredentialsReloadRejected(logger, string.Join(" ", result.Errors));
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose() => _subscription?.Dispose();
}
