using Microsoft.Extensions.Options;

namespace XksGrpc.Broker.Configuration;

/// <summary>
/// Resolves relative paths of the configuration against the configuration file's directory
/// (design.md: "Relative paths in a config file are resolved against the config file's directory").
/// </summary>
internal sealed class ConfigurationPaths(string baseDirectory) : IPostConfigureOptions<BrokerOptions>
{
    public string BaseDirectory { get; } = baseDirectory;

    public void PostConfigure(string? name, BrokerOptions options)
    {
        var listen = options.Listen;
        if (string.IsNullOrEmpty(listen.UnixSocket) && listen.Tcp is null)
        {
            listen.UnixSocket = BrokerListenOptions.DefaultUnixSocket;
        }

        listen.UnixSocket = Resolve(listen.UnixSocket);
        if (listen.Tcp is { } tcp)
        {
            tcp.CertificateFile = Resolve(tcp.CertificateFile);
            tcp.KeyFile = Resolve(tcp.KeyFile);
            tcp.ClientCaFile = Resolve(tcp.ClientCaFile);
        }

        // A bare library name ("libsofthsm2.so") is left to the dynamic loader's search path.
        if (options.Pkcs11.ModulePath.Contains('/'))
        {
            options.Pkcs11.ModulePath = Resolve(options.Pkcs11.ModulePath)!;
        }

        foreach (var token in options.Pkcs11.Tokens)
        {
            token.PinFile = Resolve(token.PinFile);
        }
    }

    public string? Resolve(string? path) =>
        string.IsNullOrEmpty(path) || Path.IsPathRooted(path) ? path : Path.GetFullPath(Path.Combine(BaseDirectory, path));
}
