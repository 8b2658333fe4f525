using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace XksGrpc.Edge.Configuration;

// One validator per concern (STYLE 3). Each reports every problem it finds, naming the setting;
// the options framework gathers them into one start-up failure.

/// <summary>Base: collects failures and turns them into one result.</summary>
internal abstract class EdgeOptionsValidator : IValidateOptions<EdgeOptions>
{
    public ValidateOptionsResult Validate(string? name, EdgeOptions options)
    {
        var failures = new List<string>();
        Check(options, failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    protected abstract void Check(EdgeOptions options, List<string> failures);

    protected static void RequireFile(string? path, string setting, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            failures.Add($"{setting} is required.");
        }
        else if (!File.Exists(path))
        {
            failures.Add($"{setting}: file '{path}' does not exist.");
        }
    }

    protected static void CheckPort(int port, string setting, List<string> failures)
    {
        if (port is < 0 or > 65535)
        {
            failures.Add($"{setting} must be between 0 and 65535 (was {port}).");
        }
    }

    protected static void CheckAddress(string address, string setting, List<string> failures)
    {
        if (!ListenAddress.TryParse(address, out _))
        {
            failures.Add($"{setting} must be an IP address, 'localhost', '*' or 'any' (was '{address}').");
        }
    }
}

/// <summary>Edge:Listen and Edge:Management.</summary>
internal sealed class ListenValidator : EdgeOptionsValidator
{
    protected override void Check(EdgeOptions options, List<string> failures)
    {
        CheckAddress(options.Listen.Address, "Edge:Listen:Address", failures);
        CheckPort(options.Listen.Port, "Edge:Listen:Port", failures);
        options.Management.Check("Edge:Management", failures, ("Edge:Listen:Port", options.Listen.Port));
    }
}

/// <summary>Edge:Tls (server certificate, client certificates).</summary>
internal sealed class ServerTlsValidator : EdgeOptionsValidator
{
    protected override void Check(EdgeOptions options, List<string> failures)
    {
        RequireFile(options.Tls.CertificateFile, "Edge:Tls:CertificateFile", failures);
        RequireFile(options.Tls.KeyFile, "Edge:Tls:KeyFile", failures);
        var client = options.Tls.ClientCertificate;
        if (client.Required)
        {
            RequireFile(client.CaFile, "Edge:Tls:ClientCertificate:CaFile", failures);
            if (client.AllowedSubjects.Count == 0)
            {
                failures.Add("Edge:Tls:ClientCertificate:AllowedSubjects must name at least one subject when Required is true.");
            }
        }
    }
}

/// <summary>Edge:Proxy (what GetHealthStatus reports).</summary>
internal sealed class ProxyInfoValidator : EdgeOptionsValidator
{
    protected override void Check(EdgeOptions options, List<string> failures)
    {
        if (string.IsNullOrWhiteSpace(options.Proxy.Vendor))
        {
            failures.Add("Edge:Proxy:Vendor is required.");
        }

        if (string.IsNullOrWhiteSpace(options.Proxy.Model))
        {
            failures.Add("Edge:Proxy:Model is required.");
        }

        if (options.Proxy.FleetSize < 1)
        {
            failures.Add($"Edge:Proxy:FleetSize must be an integer greater than zero (was {options.Proxy.FleetSize}).");
        }
    }
}

/// <summary>Edge:Keystores (names, path prefixes, credentials, quotas).</summary>
internal sealed class KeystoresValidator : EdgeOptionsValidator
{
    // Spec: XksProxyUriPath is at most 128 characters of a-z A-Z 0-9 / - _.
    private const int MaxUriPathLength = 128;

    protected override void Check(EdgeOptions options, List<string> failures)
    {
        if (options.Keystores.Count == 0)
        {
            failures.Add("Edge:Keystores must define at least one keystore.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        var prefixes = new HashSet<string>(StringComparer.Ordinal);
        var accessKeyIds = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Keystores.Count; i++)
        {
            var keystore = options.Keystores[i];
            var at = $"Edge:Keystores:{i}";
            if (string.IsNullOrEmpty(keystore.Name) || !IsName(keystore.Name))
            {
                failures.Add($"{at}:Name must be 1-64 characters of A-Z, a-z, 0-9, '-' and '_' (was '{keystore.Name}').");
            }
            else if (!names.Add(keystore.Name))
            {
                failures.Add($"{at}:Name '{keystore.Name}' is used by another keystore.");
            }

            var prefix = keystore.PathPrefix ?? "";
            if (!IsPathPrefix(prefix))
            {
                failures.Add($"{at}:PathPrefix must be empty or start with '/', not end with '/', and use only a-z, A-Z, 0-9, '/', '-' and '_' (was '{prefix}').");
            }
            else if (prefix.Length + "/kms/xks/v1".Length > MaxUriPathLength)
            {
                failures.Add($"{at}:PathPrefix makes the XksProxyUriPath longer than {MaxUriPathLength} characters.");
            }
            else if (!prefixes.Add(prefix))
            {
                failures.Add($"{at}:PathPrefix '{prefix}' is used by another keystore.");
            }

            if (keystore.Credentials.Count == 0)
            {
                failures.Add($"{at}:Credentials must hold at least one SigV4 credential.");
            }

            for (var c = 0; c < keystore.Credentials.Count; c++)
            {
                var credential = keystore.Credentials[c];
                var cat = $"{at}:Credentials:{c}";
                if (string.IsNullOrWhiteSpace(credential.AccessKeyId))
                {
                    failures.Add($"{cat}:AccessKeyId is required.");
                }
                else if (!accessKeyIds.Add(credential.AccessKeyId))
                {
                    failures.Add($"{cat}:AccessKeyId '{credential.AccessKeyId}' is configured twice (an access key id must select exactly one secret).");
                }

                var hasFile = !string.IsNullOrWhiteSpace(credential.SecretFile);
                var hasEnv = !string.IsNullOrWhiteSpace(credential.SecretEnv);
                if (hasFile == hasEnv)
                {
                    failures.Add($"{cat} must set exactly one of SecretFile and SecretEnv.");
                }
                else if (hasFile)
                {
                    CheckSecretFile(credential.SecretFile!, $"{cat}:SecretFile", failures);
                }
                else if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable(credential.SecretEnv!)))
                {
                    failures.Add($"{cat}:SecretEnv: environment variable '{credential.SecretEnv}' is not set.");
                }
            }

            if (keystore.RateLimit.PermitsPerSecond < 0)
            {
                failures.Add($"{at}:RateLimit:PermitsPerSecond must be 0 (off) or positive.");
            }

            if (keystore.RateLimit.Burst < 0)
            {
                failures.Add($"{at}:RateLimit:Burst must be 0 or positive.");
            }

            if (keystore.PolicyFile is { Length: > 0 } policy && !File.Exists(policy))
            {
                failures.Add($"{at}:PolicyFile: file '{policy}' does not exist.");
            }
        }
    }

    private static void CheckSecretFile(string path, string setting, List<string> failures)
    {
        if (!File.Exists(path))
        {
            failures.Add($"{setting}: file '{path}' does not exist.");
            return;
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            const UnixFileMode GroupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute
                | UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;
            if ((mode & GroupOrOthers) != 0)
            {
                failures.Add($"{setting}: secret file '{path}' is accessible by group or others; restrict it (chmod 600).");
            }
        }
    }

    private static bool IsName(string name)
    {
        if (name.Length > 64)
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    internal static bool IsPathPrefix(string prefix)
    {
        if (prefix.Length == 0)
        {
            return true;
        }

        if (prefix[0] != '/' || prefix[^1] == '/' || prefix.Contains("//", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in prefix)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '/' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Edge:Brokers (destinations, deadline, mutual TLS, concurrency, health checks).</summary>
internal sealed class BrokersValidator : EdgeOptionsValidator
{
    protected override void Check(EdgeOptions options, List<string> failures)
    {
        var brokers = options.Brokers;
        if (brokers.Destinations.Count == 0)
        {
            failures.Add("Edge:Brokers:Destinations must list at least one broker.");
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var anyHttps = false;
        for (var i = 0; i < brokers.Destinations.Count; i++)
        {
            var destination = brokers.Destinations[i];
            var at = $"Edge:Brokers:Destinations:{i}";
            if (string.IsNullOrEmpty(destination.Name) || !IsDnsLabel(destination.Name))
            {
                failures.Add($"{at}:Name must be 1-63 characters of a-z, A-Z, 0-9 and '-' (was '{destination.Name}').");
            }
            else if (!names.Add(destination.Name))
            {
                failures.Add($"{at}:Name '{destination.Name}' is used by another destination.");
            }

            if (!BrokerAddress.TryParse(destination.Address, out var address))
            {
                failures.Add($"{at}:Address must be 'unix:/absolute/path.sock' or 'https://host:port' (was '{destination.Address}').");
            }
            else if (address.HttpsUri is not null)
            {
                anyHttps = true;
            }
        }

        if (brokers.Deadline <= TimeSpan.Zero || brokers.Deadline > TimeSpan.FromMilliseconds(250))
        {
            failures.Add($"Edge:Brokers:Deadline must be greater than zero and at most 250 ms, KMS's own timeout (was {brokers.Deadline}).");
        }

        if (brokers.MaxConcurrentRequestsPerBroker < 1)
        {
            failures.Add("Edge:Brokers:MaxConcurrentRequestsPerBroker must be at least 1.");
        }

        if (brokers.HealthCheckInterval < TimeSpan.FromMilliseconds(100))
        {
            failures.Add("Edge:Brokers:HealthCheckInterval must be at least 100 ms.");
        }

        if (brokers.HealthCheckTimeout <= TimeSpan.Zero || brokers.HealthCheckTimeout > brokers.HealthCheckInterval)
        {
            failures.Add("Edge:Brokers:HealthCheckTimeout must be greater than zero and not longer than HealthCheckInterval.");
        }

        if (anyHttps)
        {
            RequireFile(brokers.Tls.CaFile, "Edge:Brokers:Tls:CaFile (needed for https brokers)", failures);
            RequireFile(brokers.Tls.CertificateFile, "Edge:Brokers:Tls:CertificateFile (needed for https brokers)", failures);
            RequireFile(brokers.Tls.KeyFile, "Edge:Brokers:Tls:KeyFile (needed for https brokers)", failures);
        }
    }

    private static bool IsDnsLabel(string name)
    {
        if (name.Length > 63 || name[0] == '-' || name[^1] == '-')
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Edge:Limits (never below the spec's minima; the body cap must fit the largest valid request).</summary>
internal sealed class LimitsValidator : EdgeOptionsValidator
{
    /// <summary>Spec: the proxy MUST process up to 4300 bytes of plaintext/ciphertext.</summary>
    public const int SpecMinPlaintextBytes = 4300;

    /// <summary>Spec: the proxy MUST handle AAD up to 8192 bytes.</summary>
    public const int SpecMinAadBytes = 8192;

    /// <summary>The AAD framing carries the AAD length in two bytes (spec, Encrypt).</summary>
    public const int MaxAadFramable = 65535;

    /// <summary>Room for requestMetadata (two 2048-character ARNs and the rest) and field names.</summary>
    public const int MetadataAllowance = 8192;

    public static int RequiredBodyBytes(int maxPlaintext, int maxAad)
        => Base64Length(maxPlaintext) + Base64Length(maxAad) + MetadataAllowance;

    public static int Base64Length(int bytes) => (bytes + 2) / 3 * 4;

    protected override void Check(EdgeOptions options, List<string> failures)
    {
        var limits = options.Limits;
        if (limits.MaxPlaintextBytes < SpecMinPlaintextBytes || limits.MaxPlaintextBytes > 1024 * 1024)
        {
            failures.Add($"Edge:Limits:MaxPlaintextBytes must be between {SpecMinPlaintextBytes} (the spec's minimum) and 1048576 (was {limits.MaxPlaintextBytes}).");
        }

        if (limits.MaxAadBytes < SpecMinAadBytes || limits.MaxAadBytes > MaxAadFramable)
        {
            failures.Add($"Edge:Limits:MaxAadBytes must be between {SpecMinAadBytes} (the spec's minimum) and {MaxAadFramable} (was {limits.MaxAadBytes}).");
        }

        var required = RequiredBodyBytes(Math.Max(limits.MaxPlaintextBytes, 0), Math.Max(limits.MaxAadBytes, 0));
        if (limits.MaxRequestBodyBytes < required || limits.MaxRequestBodyBytes > 16 * 1024 * 1024)
        {
            failures.Add($"Edge:Limits:MaxRequestBodyBytes must be at least {required} (room for the largest plaintext and AAD allowed) and at most 16777216 (was {limits.MaxRequestBodyBytes}).");
        }

        if (limits.RequestHeadersTimeout < TimeSpan.FromSeconds(1) || limits.RequestHeadersTimeout > TimeSpan.FromMinutes(1))
        {
            failures.Add($"Edge:Limits:RequestHeadersTimeout must be between 00:00:01 and 00:01:00 (was {limits.RequestHeadersTimeout}).");
        }

        if (limits.KeepAliveTimeout < TimeSpan.FromSeconds(1) || limits.KeepAliveTimeout > TimeSpan.FromMinutes(10))
        {
            failures.Add($"Edge:Limits:KeepAliveTimeout must be between 00:00:01 and 00:10:00 (was {limits.KeepAliveTimeout}).");
        }

        if (limits.MaxConcurrentConnections < 16 || limits.MaxConcurrentConnections > 1_000_000)
        {
            failures.Add($"Edge:Limits:MaxConcurrentConnections must be between 16 and 1000000 (was {limits.MaxConcurrentConnections}).");
        }
    }
}

/// <summary>
/// The edge never holds an HSM credential (design.md): any setting named like a PIN anywhere in the
/// Edge section stops the start.
/// </summary>
internal sealed class NoHsmPinValidator(IConfiguration configuration) : EdgeOptionsValidator
{
    private static readonly string[] PinSuffixes = ["Pin", "PinFile", "PinEnv", "PinCode"];

    protected override void Check(EdgeOptions options, List<string> failures)
    {
        foreach (var (key, _) in configuration.GetSection(EdgeOptions.SectionName).AsEnumerable())
        {
            if (IsPinLike(key))
            {
                failures.Add($"{key}: the edge must not be given an HSM PIN; PINs belong to the broker's configuration only.");
            }
        }
    }

    internal static bool IsPinLike(string key)
    {
        foreach (var segment in key.Split(':'))
        {
            foreach (var suffix in PinSuffixes)
            {
                if (segment.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
                {
                    return true;
                }
            }
        }

        return false;
    }
}

/// <summary>Parses a listen address setting.</summary>
internal static class ListenAddress
{
    public static bool TryParse(string address, out IPAddress? ip)
    {
        ip = null;
        if (address is "*" or "any" or "localhost")
        {
            return true;
        }

        return IPAddress.TryParse(address, out ip);
    }
}
