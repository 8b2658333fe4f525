using System.Net.Security;
using System.Security.Authentication;

namespace XksGrpc.Edge.Tls;

/// <summary>
/// The TLS policy of the XKS endpoint (spec, "API content type"): TLS 1.2 and 1.3 only, and on
/// Linux an explicit list of AEAD suites with forward secrecy that contains the spec's four
/// (TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
/// TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384).
/// </summary>
internal static class TlsPolicy
{
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    public static readonly TlsCipherSuite[] CipherSuites =
    [
        // TLS 1.3
        TlsCipherSuite.TLS_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_AES_128_GCM_SHA256,

        // TLS 1.2, ECDHE only (forward secrecy), AEAD only
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        TlsCipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        TlsCipherSuite.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
    ];

    /// <summary>The cipher-suite policy where the platform supports one (Linux/macOS OpenSSL), else null.</summary>
    public static CipherSuitesPolicy? CreateCipherSuitesPolicy()
        => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() ? new CipherSuitesPolicy(CipherSuites) : null;
}
