using Microsoft.Extensions.Options;

namespace XksGrpc.Edge.Configuration;

/// <summary>The directory of the configuration file: relative paths in it are resolved against it (design.md).</summary>
internal sealed record EdgeConfigLocation(string Directory)
{
    public string Resolve(string path) => Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(Directory, path));

    public string? ResolveOptional(string? path) => string.IsNullOrWhiteSpace(path) ? path : Resolve(path);
}

/// <summary>Makes every file path of <see cref="EdgeOptions"/> absolute.</summary>
internal sealed class ResolveEdgePaths(EdgeConfigLocation location) : IPostConfigureOptions<EdgeOptions>
{
    public void PostConfigure(string? name, EdgeOptions options)
    {
        options.Tls.CertificateFile = location.ResolveOptional(options.Tls.CertificateFile) ?? "";
        options.Tls.KeyFile = location.ResolveOptional(options.Tls.KeyFile) ?? "";
        options.Tls.ClientCertificate.CaFile = location.ResolveOptional(options.Tls.ClientCertificate.CaFile);
        foreach (var keystore in options.Keystores)
        {
            keystore.PolicyFile = location.ResolveOptional(keystore.PolicyFile);
            foreach (var credential in keystore.Credentials)
            {
                credential.SecretFile = location.ResolveOptional(credential.SecretFile);
            }
        }

        options.Brokers.Tls.CaFile = location.ResolveOptional(options.Brokers.Tls.CaFile);
        options.Brokers.Tls.CertificateFile = location.ResolveOptional(options.Brokers.Tls.CertificateFile);
        options.Brokers.Tls.KeyFile = location.ResolveOptional(options.Brokers.Tls.KeyFile);
        foreach (var destination in options.Brokers.Destinations)
        {
            if (destination.Address.StartsWith(BrokerAddress.UnixScheme, StringComparison.Ordinal))
            {
                var path = destination.Address[BrokerAddress.UnixScheme.Length..];
                if (path.Length > 0)
                {
                    destination.Address = BrokerAddress.UnixScheme + location.Resolve(path);
                }
            }
        }

        options.Audit.File = location.ResolveOptional(options.Audit.File);
    }
}
