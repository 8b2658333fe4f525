using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XksGrpc.Edge.Tests.Tls;

/// <summary>Certificates made by the tests (STYLE 13): CAs, and leaves whose names state their intent.</summary>
internal static class TestCertificates
{
    public const string KmsName = "cks.kms.us-east-1.amazonaws.com";

    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;

    public static X509Certificate2 CreateCa(string name, DateTimeOffset? notBefore = null, DateTimeOffset? notAfter = null, X509Certificate2? issuer = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}, O=XksGrpc tests", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        DateTimeOffset from = notBefore ?? Now.AddDays(-30);
        DateTimeOffset to = notAfter ?? Now.AddYears(5);
        if (issuer is null)
        {
            return request.CreateSelfSigned(from, to);
        }

        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        using X509Certificate2 signed = request.Create(issuer, from, to, RandomSerial());
        return signed.CopyWithPrivateKey(key);
    }

    /// <summary>A leaf issued by <paramref name="issuer"/> (or self-signed when null).</summary>
    public static X509Certificate2 CreateLeaf(
        X509Certificate2? issuer,
        string subject = $"CN={KmsName}",
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null,
        string[]? ekus = null,
        string[]? dnsNames = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        ekus ??= ["1.3.6.1.5.5.7.3.2"];
        if (ekus.Length > 0)
        {
            var usages = new OidCollection();
            foreach (string eku in ekus)
            {
                usages.Add(new Oid(eku));
            }

            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(usages, false));
        }

        if (dnsNames is { Length: > 0 })
        {
            var san = new SubjectAlternativeNameBuilder();
            foreach (string dns in dnsNames)
            {
                san.AddDnsName(dns);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        DateTimeOffset from = notBefore ?? Now.AddDays(-1);
        DateTimeOffset to = notAfter ?? Now.AddDays(90);
        X509Certificate2 certificate;
        if (issuer is null)
        {
            certificate = request.CreateSelfSigned(from, to);
        }
        else
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
            using X509Certificate2 signed = request.Create(issuer, from, to, RandomSerial());
            certificate = signed.CopyWithPrivateKey(key);
        }

        // Round-trip through PKCS#12 so the key is usable by SslStream on every platform.
        using (certificate)
        {
            return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pkcs12), null);
        }
    }

    public static string WritePem(string directory, string name, params X509Certificate2[] certificates)
    {
        string path = Path.Combine(directory, name);
        File.WriteAllText(path, string.Concat(certificates.Select(c => c.ExportCertificatePem() + "\n")));
        return path;
    }

    private static byte[] RandomSerial() => RandomNumberGenerator.GetBytes(16);
}
