using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XksGrpc.Edge.Tests.Tls.Handshake;

/// <summary>
/// Certificates made by the fixture, each named for its intent, written as PEM files for curl.
/// Mirrors AWS's bogus-mtls set (an expired X.509 v1 certificate from an unknown issuer; a self-signed CA:TRUE
/// certificate for beta.cks.kms.us-east-1.amazonaws.com) plus the cases a CA pin and subject check must catch.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    public const string AllowedSubject = "cks.kms.us-east-1.amazonaws.com";

    public TestCertificates()
    {
        Directory = System.IO.Directory.CreateTempSubdirectory("tlsgate-").FullName;
        DateTimeOffset now = DateTimeOffset.UtcNow;

        Ca = CreateCa("CN=XksGrpc Test Client CA", now);
        OtherCa = CreateCa("CN=Some Other CA", now);

        using (var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256))
        {
            var request = new CertificateRequest("CN=localhost", serverKey, HashAlgorithmName.SHA256);
            var san = new SubjectAlternativeNameBuilder();
            san.AddDnsName("localhost");
            san.AddIpAddress(System.Net.IPAddress.Loopback);
            request.CertificateExtensions.Add(san.Build());
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
            using X509Certificate2 server = request.Create(Ca, now.AddDays(-1), now.AddDays(30), Serial());
            Server = X509CertificateLoader.LoadPkcs12(server.CopyWithPrivateKey(serverKey).Export(X509ContentType.Pkcs12), null);
        }

        CaFile = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());

        Good = Client("client-good", "CN=" + AllowedSubject, Ca, now.AddDays(-1), now.AddDays(30));
        WrongCn = Client("client-wrong-cn", "CN=wrong.example.com", Ca, now.AddDays(-1), now.AddDays(30));
        Expired = Client("client-expired", "CN=" + AllowedSubject, Ca, now.AddDays(-30), now.AddDays(-1));
        OtherCaClient = Client("client-other-ca", "CN=" + AllowedSubject, OtherCa, now.AddDays(-1), now.AddDays(30));
        SelfSigned = SelfSignedCa("client-selfsigned", "CN=beta.cks.kms.us-east-1.amazonaws.com, O=AWS, C=US", now);
        ExpiredV1UnknownIssuer = ExpiredVersion1("client-expired-v1-unknown-issuer");
    }

    private int _validations;

    public string Directory { get; }

    public int Validations => Volatile.Read(ref _validations);

    public System.Collections.Concurrent.ConcurrentQueue<string> ValidatedSubjects { get; } = new();

    public X509Certificate2 Ca { get; }

    public X509Certificate2 OtherCa { get; }

    public X509Certificate2 Server { get; }

    public string CaFile { get; }

    public ClientPem Good { get; }

    public ClientPem WrongCn { get; }

    public ClientPem Expired { get; }

    public ClientPem OtherCaClient { get; }

    public ClientPem SelfSigned { get; }

    public ClientPem ExpiredV1UnknownIssuer { get; }

    /// <summary>The test's validator: chains to <see cref="Ca"/> only, subject CN allowed, within validity.</summary>
    public bool Validate(X509Certificate2 leaf, X509Certificate2Collection extra)
    {
        Interlocked.Increment(ref _validations);
        ValidatedSubjects.Enqueue(leaf.Subject);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(Ca);
        chain.ChainPolicy.ExtraStore.AddRange(extra);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(leaf) && leaf.GetNameInfo(X509NameType.SimpleName, false) == AllowedSubject;
    }

    public void Dispose()
    {
        Ca.Dispose();
        OtherCa.Dispose();
        Server.Dispose();
        foreach (ClientPem pem in new[] { Good, WrongCn, Expired, OtherCaClient, SelfSigned, ExpiredV1UnknownIssuer })
        {
            pem.Certificate.Dispose();
        }

        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static byte[] Serial() => RandomNumberGenerator.GetBytes(12);

    private static X509Certificate2 CreateCa(string subject, DateTimeOffset now)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        using X509Certificate2 ca = request.CreateSelfSigned(now.AddDays(-365), now.AddDays(365));
        return X509CertificateLoader.LoadPkcs12(ca.Export(X509ContentType.Pkcs12), null);
    }

    private ClientPem Client(string name, string subject, X509Certificate2 issuer, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], false));
        using X509Certificate2 certificate = request.Create(issuer, notBefore, notAfter, Serial());
        return Write(name, certificate, key.ExportPkcs8PrivateKeyPem(), certificate.CopyWithPrivateKey(key));
    }

    private ClientPem SelfSignedCa(string name, string subject, DateTimeOffset now)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("beta.cks.kms.us-east-1.amazonaws.com");
        request.CertificateExtensions.Add(san.Build());
        X509Certificate2 certificate = request.CreateSelfSigned(now.AddDays(-1), now.AddYears(10));
        return Write(name, certificate, key.ExportPkcs8PrivateKeyPem(), certificate);
    }

    /// <summary>Like AWS's expired_cert.pem: version 1 (no extensions), issuer nobody trusts, expired long ago, RSA-2048.</summary>
    private ClientPem ExpiredVersion1(string name)
    {
        using var issuerKey = RSA.Create(2048);
        using var key = RSA.Create(2048);
        var issuer = new X500DistinguishedName("CN=rancher.support.tools");
        var subject = new X500DistinguishedName("CN=10.43.0.1, O=\"Rancher, Inc.\", S=IL, C=US");

        var signatureAlgorithm = new AsnWriter(AsnEncodingRules.DER);
        using (signatureAlgorithm.PushSequence())
        {
            signatureAlgorithm.WriteObjectIdentifier("1.2.840.113549.1.1.11");
            signatureAlgorithm.WriteNull();
        }

        var tbs = new AsnWriter(AsnEncodingRules.DER);
        using (tbs.PushSequence())
        {
            // No [0] version field: X.509 v1.
            tbs.WriteInteger(Serial());
            tbs.WriteEncodedValue(signatureAlgorithm.Encode());
            tbs.WriteEncodedValue(issuer.RawData);
            using (tbs.PushSequence())
            {
                tbs.WriteUtcTime(new DateTimeOffset(2022, 11, 6, 23, 21, 41, TimeSpan.Zero));
                tbs.WriteUtcTime(new DateTimeOffset(2022, 11, 7, 23, 21, 41, TimeSpan.Zero));
            }

            tbs.WriteEncodedValue(subject.RawData);
            tbs.WriteEncodedValue(key.ExportSubjectPublicKeyInfo());
        }

        byte[] tbsBytes = tbs.Encode();
        var certificate = new AsnWriter(AsnEncodingRules.DER);
        using (certificate.PushSequence())
        {
            certificate.WriteEncodedValue(tbsBytes);
            certificate.WriteEncodedValue(signatureAlgorithm.Encode());
            certificate.WriteBitString(issuerKey.SignData(tbsBytes, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1));
        }

        using X509Certificate2 v1 = X509CertificateLoader.LoadCertificate(certificate.Encode());
        return Write(name, v1, key.ExportPkcs8PrivateKeyPem(), v1.CopyWithPrivateKey(key));
    }

    private ClientPem Write(string name, X509Certificate2 certificate, string keyPem, X509Certificate2 withKey)
    {
        string certFile = Path.Combine(Directory, name + ".pem");
        string keyFile = Path.Combine(Directory, name + ".key");
        File.WriteAllText(certFile, certificate.ExportCertificatePem());
        File.WriteAllText(keyFile, keyPem);
        using (withKey)
        {
            return new ClientPem(name, certFile, keyFile, X509CertificateLoader.LoadPkcs12(withKey.Export(X509ContentType.Pkcs12), null));
        }
    }
}

/// <summary>A client certificate as files for curl and as an in-memory certificate with its key for SslStream.</summary>
internal sealed record ClientPem(string Name, string CertificateFile, string KeyFile, X509Certificate2 Certificate)
{
    public override string ToString() => Name;
}
