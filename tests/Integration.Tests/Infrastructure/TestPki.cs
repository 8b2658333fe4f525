using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>A throw-away CA and a server certificate for localhost/127.0.0.1, written as PEM files.</summary>
internal sealed class TestPki
{
    private TestPki(X509Certificate2 ca, X509Certificate2 server)
    {
        Ca = ca;
        Server = server;
    }

    public X509Certificate2 Ca { get; }

    public X509Certificate2 Server { get; }

    public static TestPki Create(string directory, string serverFileName = "server")
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=XksGrpc Test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));

        var server = IssueServer(ca, directory, serverFileName, now.AddDays(-1), now.AddDays(90));
        File.WriteAllText(Path.Combine(directory, "ca.pem"), ca.ExportCertificatePem());
        return new TestPki(ca, server);
    }

    /// <summary>A client CA (written as client-ca.pem) and a client certificate with CN <paramref name="commonName"/>.</summary>
    public static (X509Certificate2 Ca, X509Certificate2 Client) CreateClient(string directory, string commonName)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=XksGrpc Test Client CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddYears(1));
        File.WriteAllText(Path.Combine(directory, "client-ca.pem"), ca.ExportCertificatePem());

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + commonName, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        using var issued = request.Create(ca, now.AddDays(-1), now.AddDays(30), serial);
        var client = X509CertificateLoader.LoadPkcs12(issued.CopyWithPrivateKey(key).Export(X509ContentType.Pkcs12), null);
        return (ca, client);
    }

    /// <summary>Issues (and writes) a server certificate signed by the CA.</summary>
    public static X509Certificate2 IssueServer(X509Certificate2 ca, string directory, string name, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("localhost");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7f;
        var certificate = request.Create(ca, notBefore, notAfter, serial);
        File.WriteAllText(Path.Combine(directory, name + ".pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(directory, name + ".key"), key.ExportPkcs8PrivateKeyPem());
        return certificate;
    }
}
