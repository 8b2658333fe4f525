using XksGrpc.Observability;

namespace XksGrpc.Edge.Configuration;

/// <summary>
/// The edge's configuration, section "Edge" of its JSON file (design.md, "Edge configuration").
/// Bound at start and validated by one validator per concern; relative paths are resolved
/// against the configuration file's directory.
/// </summary>
internal sealed class EdgeOptions
{
    public const string SectionName = "Edge";

    public EdgeListenOptions Listen { get; set; } = new();

    public EdgeTlsOptions Tls { get; set; } = new();

    public EdgeProxyInfoOptions Proxy { get; set; } = new();

    public List<KeystoreOptions> Keystores { get; set; } = [];

    public BrokersOptions Brokers { get; set; } = new();

    public EdgeLimitsOptions Limits { get; set; } = new();

    public EdgeAuditOptions Audit { get; set; } = new();

    /// <summary>The management listener (metrics, issue 6); port 0 = off.</summary>
    public ManagementOptions Management { get; set; } = new();
}

/// <summary>Where the XKS HTTPS endpoint listens.</summary>
internal sealed class EdgeListenOptions
{
    /// <summary>An IP address, or "localhost", or "*" / "any" for every interface.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 picks a free port (tests).</summary>
    public int Port { get; set; } = 8443;
}

/// <summary>The server certificate and, optionally, mutual TLS from KMS (spec, "Authentication").</summary>
internal sealed class EdgeTlsOptions
{
    /// <summary>PEM certificate (chain) file; reloaded when it changes.</summary>
    public string CertificateFile { get; set; } = "";

    /// <summary>PEM private key file; reloaded when it changes.</summary>
    public string KeyFile { get; set; } = "";

    public ClientCertificateOptions ClientCertificate { get; set; } = new();
}

/// <summary>Client-certificate (mTLS) requirements (spec, "Authentication": subject and root CA).</summary>
internal sealed class ClientCertificateOptions
{
    public bool Required { get; set; }

    public string? CaFile { get; set; }

    public List<string> AllowedSubjects { get; set; } = [];
}

/// <summary>What GetHealthStatus says about the proxy itself (spec, "GetHealthStatus").</summary>
internal sealed class EdgeProxyInfoOptions
{
    public string Vendor { get; set; } = "XksGrpc";

    public string Model { get; set; } = "XksGrpc 1.0";

    /// <summary>xksProxyFleetSize: an integer greater than zero.</summary>
    public int FleetSize { get; set; } = 1;
}

/// <summary>One logical external key store: a URI path prefix with its own credentials.</summary>
internal sealed class KeystoreOptions
{
    /// <summary>Name sent to the broker in KeyReference.keystore.</summary>
    public string Name { get; set; } = "";

    /// <summary>The optional path prefix before <c>/kms/xks/v1</c>: empty, or "/a/b" (no trailing slash).</summary>
    public string PathPrefix { get; set; } = "";

    public List<CredentialOptions> Credentials { get; set; } = [];

    /// <summary>Secondary-authorization policy file (issue 5); null = no policy.</summary>
    public string? PolicyFile { get; set; }

    public RateLimitOptions RateLimit { get; set; } = new();
}

/// <summary>One SigV4 credential: the access key id and where its secret comes from.</summary>
internal sealed class CredentialOptions
{
    public string AccessKeyId { get; set; } = "";

    /// <summary>File holding the secret access key (must not be readable by group or others).</summary>
    public string? SecretFile { get; set; }

    /// <summary>Environment variable holding the secret access key.</summary>
    public string? SecretEnv { get; set; }
}

/// <summary>Per-keystore request quota (spec: "MAY implement independent request quotas on each path prefix").</summary>
internal sealed class RateLimitOptions
{
    /// <summary>Sustained permits per second; 0 turns the limiter off.</summary>
    public int PermitsPerSecond { get; set; }

    /// <summary>Extra permits allowed in a burst; 0 means PermitsPerSecond.</summary>
    public int Burst { get; set; }
}

/// <summary>The broker cluster YARP forwards to.</summary>
internal sealed class BrokersOptions
{
    public List<BrokerDestinationOptions> Destinations { get; set; } = [];

    /// <summary>Per-request deadline for the broker hop (well under KMS's 250 ms).</summary>
    public TimeSpan Deadline { get; set; } = TimeSpan.FromMilliseconds(200);

    public BrokerTlsOptions Tls { get; set; } = new();

    /// <summary>In-flight requests allowed per broker before the edge sheds load with 429.</summary>
    public int MaxConcurrentRequestsPerBroker { get; set; } = 256;

    /// <summary>Interval of YARP's active health check (GET /healthz on each broker).</summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Timeout of one active health probe.</summary>
    public TimeSpan HealthCheckTimeout { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>One broker: "unix:/path/to/broker.sock" (h2c) or "https://host:port" (h2 + mutual TLS).</summary>
internal sealed class BrokerDestinationOptions
{
    public string Name { get; set; } = "";

    public string Address { get; set; } = "";
}

/// <summary>Mutual TLS towards brokers reached over TCP.</summary>
internal sealed class BrokerTlsOptions
{
    /// <summary>The CA the broker's certificate must chain to (pinned; the system store is not used).</summary>
    public string? CaFile { get; set; }

    public string? CertificateFile { get; set; }

    public string? KeyFile { get; set; }

    /// <summary>The name expected in the broker's certificate; defaults to the destination's host.</summary>
    public string? ServerName { get; set; }
}

/// <summary>Size limits (spec: plaintext/ciphertext ≥ 4300 bytes, AAD ≥ 8192 bytes must be supported).</summary>
internal sealed class EdgeLimitsOptions
{
    public int MaxRequestBodyBytes { get; set; } = 65536;

    public int MaxPlaintextBytes { get; set; } = 8192;

    public int MaxAadBytes { get; set; } = 16384;

    /// <summary>How long a client may take to send a request's headers (slow-header clients are cut).</summary>
    public TimeSpan RequestHeadersTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a connection may stay idle between requests (and before the first) before it is closed.</summary>
    public TimeSpan KeepAliveTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Open client connections (HTTP/1.1 and HTTP/2) accepted at once; beyond it a new connection is closed at once.</summary>
    public int MaxConcurrentConnections { get; set; } = 4096;
}

/// <summary>The tamper-evident audit log (issue 5).</summary>
internal sealed class EdgeAuditOptions
{
    public string? File { get; set; }
}
