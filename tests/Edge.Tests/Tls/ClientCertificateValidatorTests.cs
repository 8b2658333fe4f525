using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using XksGrpc.Edge.Tests.Audit;
using XksGrpc.Edge.Tls;
using static XksGrpc.Edge.Tests.Tls.TestCertificates;

namespace XksGrpc.Edge.Tests.Tls;

public sealed class ClientCertificateValidatorTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xks-mtls-").FullName;
    private readonly X509Certificate2 _ca = CreateCa("Client CA");
    private readonly X509Certificate2 _otherCa = CreateCa("Other CA");

    public void Dispose()
    {
        _ca.Dispose();
        _otherCa.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Validate_KmsCertificateFromTheConfiguredCa_IsAccepted()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca);

        Assert.True(validator.Validate(client, null, SslPolicyErrors.None, out string reason), reason);
        Assert.Contains("accepted", reason, StringComparison.Ordinal);
        Assert.Equal(0, validator.Rejections);
    }

    [Fact]
    public void Validate_IgnoresChainErrorsComputedAgainstSystemRoots()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca);

        Assert.True(validator.Validate(client, null, SslPolicyErrors.RemoteCertificateChainErrors, out string reason), reason);
    }

    [Fact]
    public void Validate_NameComparison_IsCaseInsensitive()
    {
        using ClientCertificateValidator validator = Validator("CKS.KMS.US-EAST-1.AMAZONAWS.COM");
        using X509Certificate2 client = CreateLeaf(_ca);

        Assert.True(validator.Validate(client, null, SslPolicyErrors.None, out string reason), reason);
    }

    [Fact]
    public void Validate_WrongCommonName_IsRejected()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca, subject: "CN=cks.kms.eu-west-1.amazonaws.com");

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out string reason));
        Assert.Contains("not one of the allowed names", reason, StringComparison.Ordinal);
        Assert.Equal(1, validator.Rejections);
    }

    [Fact]
    public void Validate_AllowedNameAsASuffixOrPrefix_IsRejected()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 longer = CreateLeaf(_ca, subject: $"CN={KmsName}.evil.example");
        using X509Certificate2 shorter = CreateLeaf(_ca, subject: "CN=kms.us-east-1.amazonaws.com");

        Assert.False(validator.Validate(longer, null, SslPolicyErrors.None, out _));
        Assert.False(validator.Validate(shorter, null, SslPolicyErrors.None, out _));
    }

    [Fact]
    public void Validate_AllowedNameInADnsSubjectAlternativeName_IsAccepted()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca, subject: "CN=something-else", dnsNames: [KmsName]);

        Assert.True(validator.Validate(client, null, SslPolicyErrors.None, out string reason), reason);
    }

    [Fact]
    public void Validate_SubjectWithTwoCommonNames_IsRejectedAsAmbiguous()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca, subject: $"CN=attacker, CN={KmsName}");

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out string reason));
        Assert.Contains("more than one CN", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RightNameFromAnotherCa_IsRejected()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_otherCa);

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out string reason));
        Assert.Contains("does not chain to the configured client CA", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SelfSignedCertificateWithTheRightName_IsRejected()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(issuer: null);

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out string reason));
        Assert.Contains("does not chain", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ExpiredCertificate_IsRejected()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca, notBefore: DateTimeOffset.UtcNow.AddDays(-30), notAfter: DateTimeOffset.UtcNow.AddDays(-1));

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out string reason));
        Assert.Contains("expired", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_NotYetValidCertificate_IsRejected()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca, notBefore: DateTimeOffset.UtcNow.AddDays(1), notAfter: DateTimeOffset.UtcNow.AddDays(30));

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out string reason));
        Assert.Contains("not valid before", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_UsesTheInjectedClock()
    {
        using X509Certificate2 client = CreateLeaf(_ca);
        var later = new ManualTimeProvider(DateTimeOffset.UtcNow.AddDays(200));
        using var validator = new ClientCertificateValidator(WritePem(_dir, "ca.pem", _ca), [KmsName], later);

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out string reason));
        Assert.Contains("expired", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_CertificateWithServerAuthOnly_IsRejected()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca, ekus: ["1.3.6.1.5.5.7.3.1"]);

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out string reason));
        Assert.Contains("without clientAuth", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_CertificateWithoutAnyEku_IsAccepted()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca, ekus: []);

        Assert.True(validator.Validate(client, null, SslPolicyErrors.None, out string reason), reason);
    }

    [Fact]
    public void Validate_NoCertificate_IsRejected()
    {
        using ClientCertificateValidator validator = Validator();

        Assert.False(validator.Validate(null, null, SslPolicyErrors.RemoteCertificateNotAvailable, out string reason));
        Assert.Contains("no client certificate", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_LeafUnderAnIntermediateInTheBundle_IsAccepted()
    {
        using X509Certificate2 intermediate = CreateCa("Issuing CA", issuer: _ca);
        using var validator = new ClientCertificateValidator(WritePem(_dir, "bundle.pem", _ca, intermediate), [KmsName]);
        using X509Certificate2 client = CreateLeaf(intermediate);

        Assert.True(validator.Validate(client, null, SslPolicyErrors.None, out string reason), reason);
        Assert.Single(validator.TrustAnchors);
    }

    [Fact]
    public void Validate_LeafUnderAnIntermediateTheClientSent_IsAccepted()
    {
        using X509Certificate2 intermediate = CreateCa("Issuing CA", issuer: _ca);
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(intermediate);
        using var presented = new X509Chain();
        presented.ChainPolicy.ExtraStore.Add(intermediate);

        Assert.False(validator.Validate(client, null, SslPolicyErrors.None, out _));
        Assert.True(validator.Validate(client, presented, SslPolicyErrors.None, out string reason), reason);
    }

    [Fact]
    public void Validate_AnIntermediateAloneInTheBundle_IsNotATrustAnchor()
    {
        using X509Certificate2 intermediate = CreateCa("Issuing CA", issuer: _ca);

        var ex = Assert.Throws<InvalidOperationException>(() => new ClientCertificateValidator(WritePem(_dir, "int.pem", intermediate), [KmsName]));
        Assert.Contains("no self-signed", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("")]
    [InlineData("not a pem")]
    public void Constructor_WithABundleWithoutCertificates_Throws(string content)
    {
        string path = Path.Combine(_dir, "empty.pem");
        File.WriteAllText(path, content);

        var ex = Assert.Throws<InvalidOperationException>(() => new ClientCertificateValidator(path, [KmsName]));
        Assert.Contains("contains no PEM certificate", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Constructor_WithAMissingFileAndNoNames_ReportsBoth()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => new ClientCertificateValidator(Path.Combine(_dir, "missing.pem"), []));

        Assert.Contains("non-empty list", ex.Message, StringComparison.Ordinal);
        Assert.Contains("cannot load the client CA file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Update_SwapsCaAndNamesAtOnce()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 oldClient = CreateLeaf(_ca);
        using X509Certificate2 newClient = CreateLeaf(_otherCa, subject: "CN=cks.kms.eu-west-1.amazonaws.com");

        validator.Update(WritePem(_dir, "other.pem", _otherCa), ["cks.kms.eu-west-1.amazonaws.com"]);

        Assert.False(validator.Validate(oldClient, null, SslPolicyErrors.None, out _));
        Assert.True(validator.Validate(newClient, null, SslPolicyErrors.None, out string reason), reason);
    }

    [Fact]
    public void Update_WithAnUnusableBundle_ThrowsAndKeepsTheCurrentConfiguration()
    {
        using ClientCertificateValidator validator = Validator();
        using X509Certificate2 client = CreateLeaf(_ca);

        Assert.Throws<InvalidOperationException>(() => validator.Update(Path.Combine(_dir, "missing.pem"), ["x"]));

        Assert.True(validator.Validate(client, null, SslPolicyErrors.None, out string reason), reason);
    }

    [Fact]
    public void ReloadIfChanged_PicksUpANewBundle_AndRejectsABadOneKeepingTheOld()
    {
        string path = WritePem(_dir, "ca.pem", _ca);
        using var validator = new ClientCertificateValidator(path, [KmsName]);
        using X509Certificate2 fromOther = CreateLeaf(_otherCa);
        Assert.Null(validator.ReloadIfChanged());

        File.WriteAllText(path, "garbage");
        CaBundleReloadResult? bad = validator.ReloadIfChanged();
        Assert.False(bad!.Accepted);
        Assert.NotNull(validator.LastReloadError);
        Assert.Null(validator.ReloadIfChanged()); // the same bad content is reported once

        WritePem(_dir, "ca.pem", _ca, _otherCa);
        Assert.True(validator.ReloadIfChanged()!.Accepted);
        Assert.True(validator.Validate(fromOther, null, SslPolicyErrors.None, out string reason), reason);
        Assert.Null(validator.LastReloadError);
    }

    [Fact]
    public async Task EnableAutoReload_AppliesANewBundleWithoutACall()
    {
        string path = WritePem(_dir, "ca.pem", _ca);
        using var validator = new ClientCertificateValidator(path, [KmsName]);
        validator.EnableAutoReload(TimeSpan.FromMilliseconds(200));
        using X509Certificate2 fromOther = CreateLeaf(_otherCa);
        using X509Certificate2 fromOld = CreateLeaf(_ca);

        string temp = WritePem(_dir, "ca.pem.tmp", _otherCa);
        File.Move(temp, path, overwrite: true);

        DateTime deadline = DateTime.UtcNow.AddSeconds(10);
        while (!validator.Validate(fromOther, null, SslPolicyErrors.None, out _))
        {
            Assert.True(DateTime.UtcNow < deadline, "the new CA bundle was not picked up");
            await Task.Delay(50);
        }

        Assert.False(validator.Validate(fromOld, null, SslPolicyErrors.None, out _));
    }

    private ClientCertificateValidator Validator(params string[] names) =>
        new(WritePem(_dir, "ca.pem", _ca), names.Length == 0 ? [KmsName] : names);
}
