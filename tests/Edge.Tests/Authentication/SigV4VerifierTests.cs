using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary>
/// The verifier against AWSSDK.Core's signer (independent positives) and hand-made broken requests
/// (every failure is a <see cref="SigV4Failure"/>, never an exception).
/// </summary>
public sealed class SigV4VerifierTests
{
    private const string Ks1AccessKeyId = "HGIE2BUAFNDMBCMSQVWLGCEXAM";
    private const string Ks1Secret = "VU6W2byoiBrhDqNGbx703oL0syCAmhlQgwNUT123456";
    private const string Ks2AccessKeyId = "MUBSXM6K3KMXHN6RRCXI7TWQH4";
    private const string Ks2Secret = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE=";
    private const string EncryptPath = "/ks1/kms/xks/v1/keys/foo/encrypt";

    private static readonly byte[] EncryptBody = Encoding.UTF8.GetBytes(
        """{"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::123456789012:user/Alice","kmsKeyArn":"arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab","kmsOperation":"GenerateDataKey","kmsRequestId":"4112f4d6-db54-4af4-ae30-c55a22a8dfae"},"plaintext":"SGVsbG8gV29ybGQh","encryptionAlgorithm":"AES_GCM"}""");

    private static readonly DateTimeOffset Now = new(2026, 3, 14, 9, 26, 53, TimeSpan.Zero);

    private readonly TestCredentialSource _credentials = new(
        new SigV4Credential(Ks1AccessKeyId, "ks1", Ks1Secret),
        new SigV4Credential(Ks2AccessKeyId, "ks2", Ks2Secret));

    private readonly SigningKeyCache _cache = new();

    public static TheoryData<string, string> XksPaths() => new()
    {
        { "/ks1/kms/xks/v1/keys/foo/encrypt", "us-east-1" },
        { "/ks1/kms/xks/v1/keys/foo/decrypt", "eu-west-1" },
        { "/ks1/kms/xks/v1/keys/foo/metadata", "ap-southeast-2" },
        { "/kms/xks/v1/health", "us-west-2" },
        { "/keystores/4a0d79d6-1d1b-49fd-9dbe-799cb9c0fb3f/kms/xks/v1/keys/Key_1.v2-x/encrypt", "us-gov-west-1" },
    };

    [Theory]
    [MemberData(nameof(XksPaths))]
    public void Verify_OfAnXksRequestSignedByTheAwsSdk_Succeeds(string path, string region)
    {
        SignedRequest signed = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks1Secret, path, EncryptBody, region);

        SigV4Result result = Verifier(signed.SignedAt).Verify(signed.ToSigV4Request());

        Assert.Equal(SigV4Failure.None, result.Failure);
        Assert.True(result.Succeeded);
        Assert.Equal("ks1", result.Credential.Keystore);
        Assert.Equal(Ks1AccessKeyId, result.AccessKeyId);
        Assert.Equal(region, result.Region);
    }

    [Fact]
    public void Verify_OfAnSdkSignedRequestWithAnEmptyBody_Succeeds()
    {
        SignedRequest signed = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks1Secret, "/kms/xks/v1/health", []);

        Assert.Equal(SigV4Failure.None, Verifier(signed.SignedAt).Verify(signed.ToSigV4Request()).Failure);
    }

    [Fact]
    public void Verify_ReportsTheCredentialsKeystore_SoTheEdgeCanRefuseAnotherKeystoresCredential()
    {
        // Signed with ks2's credential on a ks1 path: SigV4 itself is valid; the keystore check is the caller's.
        SignedRequest signed = AwsSdkSigner.Sign(Ks2AccessKeyId, Ks2Secret, EncryptPath, EncryptBody);

        SigV4Result result = Verifier(signed.SignedAt).Verify(signed.ToSigV4Request());

        Assert.True(result.Succeeded);
        Assert.Equal("ks2", result.Credential.Keystore);
        Assert.NotEqual("ks1", result.Credential.Keystore);
    }

    [Fact]
    public void Verify_WithAnUnknownAccessKeyId_IsUnknownAccessKeyId_AndNamesTheClaimedId()
    {
        SignedRequest signed = AwsSdkSigner.Sign("UNKNOWNUNKNOWNUNKNOWN234", Ks1Secret, EncryptPath, EncryptBody);

        SigV4Result result = Verifier(signed.SignedAt).Verify(signed.ToSigV4Request());

        Assert.Equal(SigV4Failure.UnknownAccessKeyId, result.Failure);
        Assert.False(result.Succeeded);
        Assert.Null(result.Credential);
        Assert.Equal("UNKNOWNUNKNOWNUNKNOWN234", result.AccessKeyId);
    }

    [Fact]
    public void Verify_SignedWithTheWrongSecret_IsSignatureMismatch()
    {
        SignedRequest signed = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks2Secret, EncryptPath, EncryptBody);

        Assert.Equal(SigV4Failure.SignatureMismatch, Verifier(signed.SignedAt).Verify(signed.ToSigV4Request()).Failure);
    }

    [Fact]
    public void Verify_OfABodyTamperedAfterSdkSigning_IsPayloadHashMismatch()
    {
        // The SDK signs x-amz-content-sha256: the verifier hashes the body itself and finds the header stale.
        SignedRequest signed = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks1Secret, EncryptPath, EncryptBody);
        byte[] tampered = (byte[])EncryptBody.Clone();
        tampered[^3] ^= 0x01;

        SignedRequest tamperedRequest = signed with { Body = tampered };

        SigV4Result result = Verifier(signed.SignedAt).Verify(tamperedRequest.ToSigV4Request());

        Assert.Equal(SigV4Failure.PayloadHashMismatch, result.Failure);
    }

    [Fact]
    public void Verify_OfABodyTamperedAfterSigningWithoutAContentHashHeader_IsSignatureMismatch()
    {
        (IHeaderDictionary headers, _) = HandSigned("content-type;host;x-amz-date");
        byte[] tampered = Encoding.UTF8.GetBytes(Encoding.UTF8.GetString(EncryptBody).Replace("AES_GCM", "AES_GCN", StringComparison.Ordinal));

        SigV4Result result = Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, tampered));

        Assert.Equal(SigV4Failure.SignatureMismatch, result.Failure);
    }

    [Fact]
    public void Verify_OfABodyWithOneByteAppended_IsSignatureMismatch()
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");

        SigV4Result result = Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody.Append((byte)0x20).ToArray()));

        Assert.Equal(SigV4Failure.SignatureMismatch, result.Failure);
    }

    [Theory]
    [InlineData(0, nameof(SigV4Failure.None))]
    [InlineData(300, nameof(SigV4Failure.None))]
    [InlineData(301, nameof(SigV4Failure.StaleDate))]
    [InlineData(-300, nameof(SigV4Failure.None))]
    [InlineData(-301, nameof(SigV4Failure.StaleDate))]
    [InlineData(86400, nameof(SigV4Failure.StaleDate))]
    [InlineData(-86400, nameof(SigV4Failure.StaleDate))]
    public void Verify_WithTheClockSecondsAwayFromXAmzDate_AcceptsExactlyFiveMinutesEitherWay(int clockOffsetSeconds, string expected)
    {
        SignedRequest signed = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks1Secret, EncryptPath, EncryptBody);

        SigV4Result result = Verifier(signed.SignedAt.AddSeconds(clockOffsetSeconds)).Verify(signed.ToSigV4Request());

        Assert.Equal(expected, result.Failure.ToString());
    }

    [Fact]
    public void Verify_WithAConfiguredSkew_UsesIt()
    {
        SignedRequest signed = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks1Secret, EncryptPath, EncryptBody);
        var options = new SigV4VerifierOptions { MaxClockSkew = TimeSpan.FromSeconds(30) };

        Assert.Equal(SigV4Failure.None, Verifier(signed.SignedAt.AddSeconds(30), options).Verify(signed.ToSigV4Request()).Failure);
        Assert.Equal(SigV4Failure.StaleDate, Verifier(signed.SignedAt.AddSeconds(-31), options).Verify(signed.ToSigV4Request()).Failure);
    }

    [Fact]
    public void Verify_WithAScopeDateOtherThanTheXAmzDateDate_IsScopeDateMismatch_EvenWhenCorrectlySigned()
    {
        // 23:59:30 on the 14th, scope of the 15th: within the skew and consistently signed, still refused.
        DateTimeOffset lateEvening = new(2026, 3, 14, 23, 59, 30, TimeSpan.Zero);
        IHeaderDictionary headers = BaseHeaders(lateEvening);
        headers.Authorization = ReferenceSigner.Authorization(Ks1AccessKeyId, Ks1Secret, EncryptPath, headers, "host;x-amz-date", EncryptBody, scopeDate: "20260315");

        SigV4Result result = Verifier(lateEvening).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody));

        Assert.Equal(SigV4Failure.ScopeDateMismatch, result.Failure);
    }

    [Theory]
    [InlineData("x-amz-date")]
    [InlineData("content-type;x-amz-date")]
    [InlineData("host")]
    [InlineData("content-type;host")]
    public void Verify_WithoutHostOrXAmzDateAmongTheSignedHeaders_IsMissingSignedHeader(string signedHeaders)
    {
        (IHeaderDictionary headers, _) = HandSigned(signedHeaders);

        SigV4Result result = Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody));

        Assert.Equal(SigV4Failure.MissingSignedHeader, result.Failure);
    }

    [Fact]
    public void Verify_OfARequestSigningHttp2sAuthorityInsteadOfHost_UsesTheHostValue()
    {
        IHeaderDictionary headers = BaseHeaders(Now);
        IHeaderDictionary forSigner = BaseHeaders(Now);
        forSigner[":authority"] = headers.Host;
        headers.Authorization = ReferenceSigner.Authorization(Ks1AccessKeyId, Ks1Secret, EncryptPath, forSigner, ":authority;content-type;x-amz-date", EncryptBody);

        SigV4Result result = Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody));

        Assert.Equal(SigV4Failure.None, result.Failure);
    }

    [Fact]
    public void Verify_WithoutTheXAmzDateHeader_IsMissingDate()
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");
        headers.Remove("x-amz-date");

        Assert.Equal(SigV4Failure.MissingDate, Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
    }

    [Theory]
    [InlineData("2026-03-14T09:26:53Z")]
    [InlineData("20260314T092653")]
    [InlineData("20261314T092653Z")]
    [InlineData("20260230T092653Z")]
    [InlineData("20260314T256053Z")]
    [InlineData("20260314 092653Z")]
    [InlineData("")]
    [InlineData("٢٠٢٦٠٣١٤T092653Z")]
    public void Verify_WithAMalformedXAmzDate_IsMalformedDate(string amzDate)
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");
        headers["x-amz-date"] = amzDate;

        Assert.Equal(SigV4Failure.MalformedDate, Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
    }

    [Fact]
    public void Verify_WithTwoXAmzDateHeaders_IsMalformedDate()
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");
        headers["x-amz-date"] = new StringValues([headers["x-amz-date"].ToString(), headers["x-amz-date"].ToString()]);

        Assert.Equal(SigV4Failure.MalformedDate, Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
    }

    [Fact]
    public void Verify_WhenASignedHeaderIsAbsent_IsSignedHeaderAbsent()
    {
        (IHeaderDictionary headers, _) = HandSigned("content-type;host;x-amz-date");
        headers.Remove("Content-Type");

        Assert.Equal(SigV4Failure.SignedHeaderAbsent, Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
    }

    [Fact]
    public void Verify_WhenTheHostHeaderIsChangedAfterSigning_IsSignatureMismatch()
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");
        headers.Host = "attacker.example.com";

        Assert.Equal(SigV4Failure.SignatureMismatch, Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
    }

    [Fact]
    public void Verify_OfAPathChangedAfterSigning_IsSignatureMismatch()
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");

        SigV4Result result = Verifier(Now).Verify(new SigV4Request("POST", "/ks1/kms/xks/v1/keys/foo/decrypt", string.Empty, headers, EncryptBody));

        Assert.Equal(SigV4Failure.SignatureMismatch, result.Failure);
    }

    [Fact]
    public void Verify_OfAMethodChangedAfterSigning_IsSignatureMismatch()
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");

        SigV4Result result = Verifier(Now).Verify(new SigV4Request("PUT", EncryptPath, string.Empty, headers, EncryptBody));

        Assert.Equal(SigV4Failure.SignatureMismatch, result.Failure);
    }

    [Fact]
    public void Verify_WithAnUnsignedContentHashHeader_IsUnsignedPayloadHashHeader()
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";

        Assert.Equal(SigV4Failure.UnsignedPayloadHashHeader, Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
    }

    [Fact]
    public void Verify_WithASignedUnsignedPayloadMarker_IsPayloadHashMismatch()
    {
        // "UNSIGNED-PAYLOAD" would let the body change freely: the body is always hashed here.
        IHeaderDictionary headers = BaseHeaders(Now);
        headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD";
        headers.Authorization = ReferenceSigner.Authorization(Ks1AccessKeyId, Ks1Secret, EncryptPath, headers, "host;x-amz-content-sha256;x-amz-date", EncryptBody);

        Assert.Equal(SigV4Failure.PayloadHashMismatch, Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
    }

    [Fact]
    public void Verify_SignedForAnotherService_IsWrongService()
    {
        SignedRequest signed = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks1Secret, EncryptPath, EncryptBody, service: "kms");

        Assert.Equal(SigV4Failure.WrongService, Verifier(signed.SignedAt).Verify(signed.ToSigV4Request()).Failure);
    }

    [Fact]
    public void Verify_WithRegionsRestricted_AcceptsOnlyThoseRegions()
    {
        var options = new SigV4VerifierOptions { AllowedRegions = ["us-east-1", "eu-west-1"] };
        SignedRequest allowed = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks1Secret, EncryptPath, EncryptBody, "eu-west-1");
        SignedRequest other = AwsSdkSigner.Sign(Ks1AccessKeyId, Ks1Secret, EncryptPath, EncryptBody, "us-west-2");

        Assert.Equal(SigV4Failure.None, Verifier(allowed.SignedAt, options).Verify(allowed.ToSigV4Request()).Failure);
        Assert.Equal(SigV4Failure.WrongRegion, Verifier(other.SignedAt, options).Verify(other.ToSigV4Request()).Failure);
    }

    [Fact]
    public void Verify_WithoutAnAuthorizationHeader_IsMissingAuthorization()
    {
        IHeaderDictionary headers = BaseHeaders(Now);

        SigV4Result result = Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody));

        Assert.Equal(SigV4Failure.MissingAuthorization, result.Failure);
        Assert.Null(result.AccessKeyId);
    }

    [Fact]
    public void Verify_WithTwoAuthorizationHeaders_IsMalformedAuthorization_EvenIfBothAreValid()
    {
        (IHeaderDictionary headers, string authorization) = HandSigned("host;x-amz-date");
        headers.Authorization = new StringValues([authorization, authorization]);

        Assert.Equal(SigV4Failure.MalformedAuthorization, Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
    }

    public static TheoryData<string, string> MalformedAuthorizations()
    {
        const string credential = "Credential=" + Ks1AccessKeyId + "/20260314/us-east-1/kms-xks-proxy/aws4_request";
        const string signedHeaders = "SignedHeaders=host;x-amz-date";
        string signature = "Signature=" + new string('a', 64);
        string valid = $"AWS4-HMAC-SHA256 {credential}, {signedHeaders}, {signature}";
        return new()
        {
            { string.Empty, nameof(SigV4Failure.MissingAuthorization) },
            { "Bearer abc", nameof(SigV4Failure.UnsupportedAlgorithm) },
            { valid.Replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA1", StringComparison.Ordinal), nameof(SigV4Failure.UnsupportedAlgorithm) },
            { valid.Replace("AWS4-HMAC-SHA256", "aws4-hmac-sha256", StringComparison.Ordinal), nameof(SigV4Failure.UnsupportedAlgorithm) },
            { "AWS4-ECDSA-P256-SHA256 " + credential, nameof(SigV4Failure.UnsupportedAlgorithm) },
            { "AWS4-HMAC-SHA256", nameof(SigV4Failure.MalformedAuthorization) },
            { "AWS4-HMAC-SHA256 ", nameof(SigV4Failure.MalformedAuthorization) },
            { "AWS4-HMAC-SHA256 " + credential, nameof(SigV4Failure.MalformedAuthorization) },
            { $"AWS4-HMAC-SHA256 {credential}, {signedHeaders}", nameof(SigV4Failure.MalformedAuthorization) },
            { $"AWS4-HMAC-SHA256 {credential}, {credential}, {signedHeaders}, {signature}", nameof(SigV4Failure.MalformedAuthorization) },
            { $"AWS4-HMAC-SHA256 {credential}, {signedHeaders}, {signature}, Extra=1", nameof(SigV4Failure.MalformedAuthorization) },
            { valid + ",", nameof(SigV4Failure.MalformedAuthorization) },
            { valid + ", ", nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace("Signature=", "signature=", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(", ", " ", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid[..^1], nameof(SigV4Failure.MalformedAuthorization) },
            { valid + "a", nameof(SigV4Failure.MalformedAuthorization) },
            { valid[..^1] + "A", nameof(SigV4Failure.MalformedAuthorization) },
            { valid[..^1] + "g", nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=x-amz-date;host", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=host;host;x-amz-date", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=Host;x-amz-date", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=host;;x-amz-date", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=authorization;host;x-amz-date", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=host;x-amz-date;", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=host x-amz-date", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace(signedHeaders, "SignedHeaders=:path;host;x-amz-date", StringComparison.Ordinal), nameof(SigV4Failure.MalformedAuthorization) },
            { valid.Replace("/aws4_request", "/aws4_requests", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/aws4_request", "/aws4_request/x", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/aws4_request", string.Empty, StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/20260314/", "/2026031/", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/20260314/", "/2026-03-14/", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/us-east-1/", "//", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/us-east-1/", "/us east 1/", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/us-east-1/", "/" + new string('r', 33) + "/", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/kms-xks-proxy/", "//", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace(Ks1AccessKeyId, string.Empty, StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace(Ks1AccessKeyId, "AKID-WITH-DASH", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace(Ks1AccessKeyId, "ÄKIDÉ", StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace(Ks1AccessKeyId, new string('A', 129), StringComparison.Ordinal), nameof(SigV4Failure.MalformedCredentialScope) },
            { valid.Replace("/kms-xks-proxy/", "/kms/", StringComparison.Ordinal), nameof(SigV4Failure.WrongService) },
            { valid.Replace("/kms-xks-proxy/", "/KMS-XKS-PROXY/", StringComparison.Ordinal), nameof(SigV4Failure.WrongService) },
            { valid + new string(' ', 5000), nameof(SigV4Failure.MalformedAuthorization) },
            { "AWS4-HMAC-SHA256 " + new string('x', 100_000), nameof(SigV4Failure.MalformedAuthorization) },
            { "AWS4-HMAC-SHA256 Credential=\0\0\0, SignedHeaders=\uD800, Signature=\uFFFF", nameof(SigV4Failure.MalformedAuthorization) },
        };
    }

    [Theory]
    [MemberData(nameof(MalformedAuthorizations))]
    public void Verify_WithAMalformedAuthorizationHeader_FailsWithTheMatchingReason(string authorization, string expected)
    {
        IHeaderDictionary headers = BaseHeaders(Now);
        headers.Authorization = authorization;

        SigV4Result result = Verifier(Now).Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody));

        Assert.Equal(expected, result.Failure.ToString());
        Assert.False(result.Succeeded);
    }

    [Fact]
    public void Verify_AcceptsTheComponentsInAnyOrderWithOrWithoutSpaces()
    {
        (IHeaderDictionary headers, string authorization) = HandSigned("host;x-amz-date");
        string[] parts = authorization["AWS4-HMAC-SHA256 ".Length..].Split(", ");
        SigV4Verifier verifier = Verifier(Now);

        foreach (string reordered in new[] { $"AWS4-HMAC-SHA256 {parts[2]}, {parts[0]}, {parts[1]}", $"AWS4-HMAC-SHA256 {parts[0]},{parts[1]},{parts[2]}" })
        {
            headers.Authorization = reordered;
            Assert.Equal(SigV4Failure.None, verifier.Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody)).Failure);
        }
    }

    [Fact]
    public void Verify_OfRandomGarbageAndMutationsOfAValidRequest_NeverThrowsAndNeverSucceeds()
    {
        (IHeaderDictionary headers, string authorization) = HandSigned("content-type;host;x-amz-date");
        SigV4Verifier verifier = Verifier(Now);
        var random = new Random(20260314);
        const string alphabet = "AWS4-HMAC-SHA256 Credential=/,;= SignedHeaders Signature abcdef0123456789 host x-amz-date \0\t\r\n\u00e9\uD800\uFFFF";
        for (int i = 0; i < 5000; i++)
        {
            char[] chars = authorization.ToCharArray();
            int edits = 1 + random.Next(4);
            for (int e = 0; e < edits; e++)
            {
                chars[random.Next(chars.Length)] = alphabet[random.Next(alphabet.Length)];
            }

            string mutated = new(chars);
            if (mutated == authorization)
            {
                continue;
            }

            string garbage = new(Enumerable.Range(0, random.Next(300)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray());
            foreach (string candidate in new[] { mutated, garbage, "AWS4-HMAC-SHA256 " + garbage })
            {
                headers.Authorization = candidate;
                SigV4Result result = verifier.Verify(new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody));
                Assert.False(result.Succeeded, candidate);
                Assert.NotEqual(SigV4Failure.None, result.Failure);
            }
        }
    }

    [Fact]
    public void Verify_OfHostileHeaderValuesAndPaths_NeverThrows()
    {
        IHeaderDictionary headers = BaseHeaders(Now);
        headers["x-huge"] = new string('v', 1_000_000);
        headers["x-odd"] = "\uD800 \uDFFF\0 \t é \u2028";
        headers.Authorization = ReferenceSigner.Authorization(Ks1AccessKeyId, Ks1Secret, EncryptPath, headers, "host;x-amz-date", EncryptBody)
            .Replace("SignedHeaders=host;x-amz-date", "SignedHeaders=host;x-amz-date;x-huge;x-odd", StringComparison.Ordinal);
        SigV4Verifier verifier = Verifier(Now);

        foreach (string path in new[] { string.Empty, "/", "//..//../.", "/%", "/%zz/%E1", "/\uD800", new string('/', 10_000), "/" + new string('é', 50_000), "*" })
        {
            SigV4Result result = verifier.Verify(new SigV4Request("POST", path, "a=%&=&&%zz=\uD800&" + new string('q', 5000), headers, EncryptBody));
            Assert.Equal(SigV4Failure.SignatureMismatch, result.Failure);
        }
    }

    [Fact]
    public void Verify_WhenTheCredentialIsRemovedAfterLookup_CompletesTheInFlightRequest_AndRefusesTheNext()
    {
        (IHeaderDictionary headers, _) = HandSigned("host;x-amz-date");
        _credentials.AfterLookup = akid => _credentials.Remove(akid);
        SigV4Verifier verifier = Verifier(Now);
        var request = new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody);

        SigV4Result inFlight = verifier.Verify(request);
        SigV4Result next = verifier.Verify(request);

        Assert.Equal(SigV4Failure.None, inFlight.Failure);
        Assert.Equal(SigV4Failure.UnknownAccessKeyId, next.Failure);
    }

    [Fact]
    public void Verify_CachesTheSigningKeyOnlyAfterASignatureVerified()
    {
        (IHeaderDictionary headers, string authorization) = HandSigned("host;x-amz-date");
        SigV4Verifier verifier = Verifier(Now);
        var request = new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody);

        headers.Authorization = authorization[..^1] + (authorization[^1] == '0' ? '1' : '0');
        Assert.Equal(SigV4Failure.SignatureMismatch, verifier.Verify(request).Failure);
        Assert.Equal(0, _cache.Count);

        headers.Authorization = authorization;
        Assert.Equal(SigV4Failure.None, verifier.Verify(request).Failure);
        Assert.Equal(SigV4Failure.None, verifier.Verify(request).Failure);
        Assert.Equal(1, _cache.Count);

        _cache.Invalidate(Ks1AccessKeyId);
        Assert.Equal(0, _cache.Count);
        Assert.Equal(SigV4Failure.None, verifier.Verify(request).Failure);
    }

    [Fact]
    public void Verify_AfterASecretChangesForTheSameAccessKeyId_NeverUsesTheCachedKeyOfTheOldSecret()
    {
        var source = new TestCredentialSource(new SigV4Credential(Ks1AccessKeyId, "ks1", Ks1Secret));
        var verifier = new SigV4Verifier(source, new FakeTimeProvider(Now), new SigV4VerifierOptions(), _cache);
        (IHeaderDictionary oldHeaders, _) = HandSigned("host;x-amz-date");
        Assert.Equal(SigV4Failure.None, verifier.Verify(new SigV4Request("POST", EncryptPath, string.Empty, oldHeaders, EncryptBody)).Failure);

        source.Remove(Ks1AccessKeyId);
        var replaced = new TestCredentialSource(new SigV4Credential(Ks1AccessKeyId, "ks1", Ks2Secret));
        var verifierAfter = new SigV4Verifier(replaced, new FakeTimeProvider(Now), new SigV4VerifierOptions(), _cache);
        (IHeaderDictionary newHeaders, _) = HandSigned("host;x-amz-date", secret: Ks2Secret);

        Assert.Equal(SigV4Failure.SignatureMismatch, verifierAfter.Verify(new SigV4Request("POST", EncryptPath, string.Empty, oldHeaders, EncryptBody)).Failure);
        Assert.Equal(SigV4Failure.None, verifierAfter.Verify(new SigV4Request("POST", EncryptPath, string.Empty, newHeaders, EncryptBody)).Failure);
    }

    [Fact]
    public void SigningKeyCache_WhenFull_StaysBounded()
    {
        var cache = new SigningKeyCache(capacity: 4);
        var credential = new SigV4Credential(Ks1AccessKeyId, "ks1", Ks1Secret);
        for (int i = 0; i < 100; i++)
        {
            cache.Add($"{Ks1AccessKeyId}/20260314/region-{i}/kms-xks-proxy", credential, new byte[32]);
            Assert.True(cache.Count <= 4);
        }
    }

    [Fact]
    public void Verify_OnTheHotPath_AllocatesAlmostNothing()
    {
        (IHeaderDictionary headers, _) = HandSigned("content-type;host;x-amz-date");
        SigV4Verifier verifier = Verifier(Now);
        var request = new SigV4Request("POST", EncryptPath, string.Empty, headers, EncryptBody);
        Assert.True(verifier.Verify(request).Succeeded); // warm: caches the signing key and the region

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++)
        {
            Assert.True(verifier.Verify(request).Succeeded);
        }

        long perRequest = (GC.GetAllocatedBytesForCurrentThread() - before) / 1000;
        Assert.True(perRequest <= 64, $"{perRequest} bytes allocated per verification");
    }

    [Fact]
    public void Reason_OfEveryFailure_IsAConstantWithoutRequestData()
    {
        foreach (SigV4Failure failure in Enum.GetValues<SigV4Failure>())
        {
            string reason = failure.Reason();
            Assert.False(string.IsNullOrEmpty(reason));
            Assert.NotEqual("unknown failure", reason);
            Assert.Same(reason, failure.Reason());
        }
    }

    private SigV4Verifier Verifier(DateTimeOffset now, SigV4VerifierOptions? options = null)
        => new(_credentials, new FakeTimeProvider(now), options ?? new SigV4VerifierOptions(), _cache);

    private static IHeaderDictionary BaseHeaders(DateTimeOffset signedAt)
    {
        IHeaderDictionary headers = new HeaderDictionary();
        headers.Host = "xks.example.com";
        headers.ContentType = "application/json";
        headers["x-amz-date"] = ReferenceSigner.AmzDate(signedAt);
        return headers;
    }

    private static (IHeaderDictionary Headers, string Authorization) HandSigned(string signedHeaders, string secret = Ks1Secret)
    {
        IHeaderDictionary headers = BaseHeaders(Now);
        string authorization = ReferenceSigner.Authorization(Ks1AccessKeyId, secret, EncryptPath, headers, signedHeaders, EncryptBody);
        headers.Authorization = authorization;
        return (headers, authorization);
    }
}
