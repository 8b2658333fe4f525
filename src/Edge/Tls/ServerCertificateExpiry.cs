using System.Security.Cryptography.X509Certificates;

namespace XksGrpc.Edge.Tls;

/// <summary>
/// Days until a certificate expires, for an alarm like KMS's <c>XksProxyCertificateDaysToExpire</c>
/// (spec "Authentication": the proxy's server certificate must stay valid for KMS to connect).
/// </summary>
internal static class ServerCertificateExpiry
{
    /// <summary>Fractional days from <paramref name="timeProvider"/>'s now to NotAfter; negative once expired.</summary>
    public static double DaysToExpire(X509Certificate2 certificate, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        DateTimeOffset now = (timeProvider ?? TimeProvider.System).GetUtcNow();
        return (new DateTimeOffset(certificate.NotAfter.ToUniversalTime(), TimeSpan.Zero) - now).TotalDays;
    }
}
