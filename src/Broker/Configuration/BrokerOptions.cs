using XksGrpc.Observability;

namespace XksGrpc.Broker.Configuration;

/// <summary>The broker's configuration, section "Broker" (design.md, "Broker configuration").</summary>
internal sealed class BrokerOptions
{
    public const string Section = "Broker";

    /// <summary>Where the broker listens: a Unix socket by default, or TCP with mutual TLS.</summary>
    public BrokerListenOptions Listen { get; set; } = new();

    /// <summary>The PKCS#11 module and its tokens.</summary>
    public Pkcs11Options Pkcs11 { get; set; } = new();

    /// <summary>Which external key ids each keystore may use. A key not listed is KeyNotFound.</summary>
    public List<KeystoreOptions> Keystores { get; set; } = [];

    /// <summary>Size limits (spec minima: 4300 bytes of plaintext, 8192 bytes of AAD).</summary>
    public LimitsOptions Limits { get; set; } = new();

    /// <summary>Behaviour of the operations.</summary>
    public OperationsOptions Operations { get; set; } = new();

    /// <summary>The management listener (metrics, issue 6); port 0 = off.</summary>
    public ManagementOptions Management { get; set; } = new();
}

internal sealed class BrokerListenOptions
{
    public const string DefaultUnixSocket = "/run/xksgrpc/broker.sock";

    /// <summary>Path of the Unix socket (h2c). Default <see cref="DefaultUnixSocket"/> unless only TCP is configured.</summary>
    public string? UnixSocket { get; set; }

    /// <summary>Octal file mode set on the socket after bind, e.g. "0660".</summary>
    public string SocketMode { get; set; } = "0660";

    /// <summary>Peer uids allowed on the Unix socket (SO_PEERCRED), besides the broker's own uid and root.</summary>
    public List<uint> AllowedPeerUids { get; set; } = [];

    /// <summary>Peer gids allowed on the Unix socket (the peer's primary or supplementary groups).</summary>
    public List<uint> AllowedPeerGids { get; set; } = [];

    /// <summary>Optional TCP listener (mutual TLS unless Insecure).</summary>
    public TcpListenOptions? Tcp { get; set; }

    /// <summary>
    /// After SIGTERM, how long the broker keeps answering while it tells the edges it is going
    /// (reply header x-broker-draining, /healthz 503) before its listeners close; 0 = stop at once.
    /// </summary>
    public TimeSpan DrainDelay { get; set; } = TimeSpan.FromMilliseconds(500);
}

internal sealed class TcpListenOptions
{
    public string Address { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 5001;
    public string? CertificateFile { get; set; }
    public string? KeyFile { get; set; }
    public string? ClientCaFile { get; set; }
    public List<string> AllowedClientSubjects { get; set; } = [];

    /// <summary>Plain h2c over TCP, without TLS or client authentication. Tests only.</summary>
    public bool Insecure { get; set; }
}

internal sealed class Pkcs11Options
{
    public string ModulePath { get; set; } = "/usr/lib/softhsm/libsofthsm2.so";
    public List<TokenOptions> Tokens { get; set; } = [];

    /// <summary>Logged-in sessions per token; one operation per session at a time.</summary>
    public int SessionPoolSize { get; set; } = 8;

    /// <summary>How long a request waits for a free session before DependencyTimeoutException.</summary>
    public TimeSpan SessionWaitTimeout { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Label of the key used by the deep health check (never in a keystore).</summary>
    public string HealthKeyLabel { get; set; } = "xks-health";

    /// <summary>Period of the deep health check; at most 60 s (the spec's cache bound).</summary>
    public TimeSpan HealthCheckInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the key catalog (labels, usage, status) is re-read from the token.</summary>
    public TimeSpan KeyRefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Serve keys through session copies made at catalog load (much faster with SoftHSM; the copies stay
    /// private, sensitive and non-extractable, and vanish with the broker's sessions).
    /// </summary>
    public bool UseSessionKeyCopies { get; set; } = true;

    /// <summary>First delay between reconnect attempts after an HSM fault; doubles up to ReconnectMaxDelay.</summary>
    public TimeSpan ReconnectMinDelay { get; set; } = TimeSpan.FromMilliseconds(200);
    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromSeconds(10);
}

internal sealed class TokenOptions
{
    /// <summary>Stable identifier reported in ekmFleetDetails.</summary>
    public string Id { get; set; } = "";

    /// <summary>Token label (CK_TOKEN_INFO.label); this or Serial.</summary>
    public string? Label { get; set; }

    /// <summary>Token serial number (CK_TOKEN_INFO.serialNumber); this or Label.</summary>
    public string? Serial { get; set; }

    /// <summary>File holding the user PIN; must not be readable by group or others.</summary>
    public string? PinFile { get; set; }

    /// <summary>Name of an environment variable holding the user PIN.</summary>
    public string? PinEnv { get; set; }
}

internal sealed class KeystoreOptions
{
    public string Name { get; set; } = "";
    public List<string> Keys { get; set; } = [];
}

internal sealed class LimitsOptions
{
    public const int SpecMinPlaintextBytes = 4300;
    public const int SpecMinAadBytes = 8192;

    public int MaxPlaintextBytes { get; set; } = 8192;
    public int MaxAadBytes { get; set; } = 16384;
}

internal sealed class OperationsOptions
{
    /// <summary>
    /// Verify every encrypt by an HSM decrypt, not only those asking for a CDIV (Appendix C), so no
    /// ciphertext the HSM cannot decrypt is ever returned. Keys without DECRYPT usage are not verified
    /// unless a CDIV is asked (see <see cref="AllowUnverifiedCdiv"/>).
    /// </summary>
    public bool VerifyEveryEncrypt { get; set; } = true;

    /// <summary>
    /// For a key without DECRYPT usage, a CDIV cannot be verified by an HSM decrypt. False (default):
    /// such an Encrypt is refused with InvalidKeyUsageException. True: answered with an unverified CDIV.
    /// </summary>
    public bool AllowUnverifiedCdiv { get; set; }
}
