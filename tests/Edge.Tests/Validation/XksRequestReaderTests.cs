using System.Text;
using System.Text.Json.Nodes;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Routing;
using XksGrpc.Edge.Validation;

namespace XksGrpc.Edge.Tests.Validation;

public sealed class XksRequestReaderTests
{
    private static readonly XksLimits Limits = new(MaxPlaintextBytes: 4300, MaxAadBytes: 8192, MaxRequestBodyBytes: 65536);

    private static JsonObject Metadata(string operation = "Encrypt") => new()
    {
        ["awsPrincipalArn"] = "arn:aws:iam::123456789012:user/Alice",
        ["kmsKeyArn"] = "arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ["kmsOperation"] = operation,
        ["kmsRequestId"] = "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
        ["kmsViaService"] = "ebs",
    };

    private static JsonObject EncryptBody(int plaintext = 12, int? aad = null) => new()
    {
        ["requestMetadata"] = Metadata(),
        ["plaintext"] = Convert.ToBase64String(new byte[plaintext]),
        ["encryptionAlgorithm"] = "AES_GCM",
        ["additionalAuthenticatedData"] = aad is null ? null : Convert.ToBase64String(new byte[aad.Value]),
    };

    private static JsonObject DecryptBody(int ciphertext = 12, int iv = 12, int tag = 16, int? metadata = null, int? aad = null) => new()
    {
        ["requestMetadata"] = Metadata("Decrypt"),
        ["ciphertext"] = Convert.ToBase64String(new byte[ciphertext]),
        ["initializationVector"] = Convert.ToBase64String(new byte[iv]),
        ["authenticationTag"] = Convert.ToBase64String(new byte[tag]),
        ["ciphertextMetadata"] = metadata is null ? null : Convert.ToBase64String(new byte[metadata.Value]),
        ["additionalAuthenticatedData"] = aad is null ? null : Convert.ToBase64String(new byte[aad.Value]),
        ["encryptionAlgorithm"] = "AES_GCM",
    };

    private static (XksGrpc.Edge.Errors.XksFailure? Failure, XksRequestReader.Result Result) Read(XksApi api, string json)
    {
        var failure = XksRequestReader.Read(api, Encoding.UTF8.GetBytes(json), "ks1", "foo", Limits, out var result);
        return (failure, result);
    }

    private static XksErrorName? ErrorOf(XksApi api, JsonNode body) => Read(api, body.ToJsonString()).Failure?.Name;

    [Fact]
    public void Encrypt_SpecExample_BecomesTheBrokerRequest()
    {
        const string json = """
            {
                "requestMetadata": {
                    "awsPrincipalArn": "arn:aws:iam::123456789012:user/Alice",
                    "kmsKeyArn": "arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab",
                    "kmsOperation": "Encrypt",
                    "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae",
                    "kmsViaService": "ebs"
                },
                "additionalAuthenticatedData": "cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n",
                "plaintext": "SGVsbG8gV29ybGQh",
                "encryptionAlgorithm": "AES_GCM",
                "ciphertextDataIntegrityValueAlgorithm": "SHA_256"
            }
            """;
        var (failure, result) = Read(XksApi.Encrypt, json);

        Assert.Null(failure);
        var request = Assert.IsType<EncryptRequest>(result.Message);
        Assert.Equal("Hello World!", request.Plaintext.ToStringUtf8());
        Assert.Equal("project=nile,department=marketing", request.AdditionalAuthenticatedData.ToStringUtf8());
        Assert.Equal(CdivAlgorithm.Sha256, request.CdivAlgorithm);
        Assert.True(result.CdivRequested);
        Assert.Equal("ks1", request.Key.Keystore);
        Assert.Equal("foo", request.Key.ExternalKeyId);
        Assert.Equal("ebs", request.RequestMetadata.KmsViaService);
        Assert.Equal("4112f4d6-db54-4af4-ae30-c55a22a8dfae", result.Metadata.KmsRequestId);
    }

    [Fact]
    public void Decrypt_SpecExample_BecomesTheBrokerRequest()
    {
        const string json = """
            {"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::123456789012:user/Alice","kmsKeyArn":"arn:aws:kms:us-east-2:123456789012:/key/1","kmsOperation":"Decrypt","kmsRequestId":"5112f4d6"},
             "additionalAuthenticatedData":"cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n","encryptionAlgorithm":"AES_GCM",
             "ciphertext":"ghxkK1txeDNn3q8Y","ciphertextMetadata":"a2V5X3ZlcnNpb249MQ==","initializationVector":"HMrlRw85cAJUd5Ax","authenticationTag":"vBxN2ncH1oEkR8WVXpmyYQ=="}
            """;
        var (failure, result) = Read(XksApi.Decrypt, json);

        Assert.Null(failure);
        var request = Assert.IsType<DecryptRequest>(result.Message);
        Assert.Equal(12, request.Ciphertext.Length);
        Assert.Equal("key_version=1", request.CiphertextMetadata.ToStringUtf8());
        Assert.Equal(12, request.InitializationVector.Length);
        Assert.Equal(16, request.AuthenticationTag.Length);
    }

    [Fact]
    public void Health_WithOnlyTwoMetadataMembers_IsValid()
    {
        var (failure, result) = Read(XksApi.GetHealthStatus, """{"requestMetadata":{"kmsRequestId":"x","kmsOperation":"KmsHealthCheck"}}""");

        Assert.Null(failure);
        Assert.Equal("ks1", Assert.IsType<GetHealthStatusRequest>(result.Message).Keystore);
    }

    [Fact]
    public void GetKeyMetadata_WithoutKmsKeyArn_IsValid()
    {
        var metadata = Metadata("CreateKey");
        metadata.Remove("kmsKeyArn");

        Assert.Null(ErrorOf(XksApi.GetKeyMetadata, new JsonObject { ["requestMetadata"] = metadata }));
    }

    [Theory]
    [InlineData("GetHealthStatus", "{}")]
    [InlineData("GetHealthStatus", """{"requestMetadata":{}}""")]
    [InlineData("GetHealthStatus", """{"requestMetadata":{"kmsOperation":"KmsHealthCheck"}}""")]
    [InlineData("GetHealthStatus", """{"requestMetadata":{"kmsRequestId":"x"}}""")]
    [InlineData("GetHealthStatus", """{"requestMetadata":[]}""")]
    [InlineData("GetHealthStatus", """{"requestMetadata":{"kmsRequestId":1,"kmsOperation":"K"}}""")]
    [InlineData("GetKeyMetadata", """{"requestMetadata":{"kmsRequestId":"x","kmsOperation":"K"}}""")]
    [InlineData("GetKeyMetadata", "[]")]
    [InlineData("GetKeyMetadata", "")]
    [InlineData("GetKeyMetadata", "{")]
    [InlineData("GetKeyMetadata", """{"requestMetadata":{"kmsRequestId":"x","kmsOperation":"K","awsPrincipalArn":"p"}} {}""")]
    [InlineData("GetKeyMetadata", """{"requestMetadata":{"kmsRequestId":"x","kmsRequestId":"y","kmsOperation":"K","awsPrincipalArn":"p"}}""")]
    [InlineData("GetKeyMetadata", """{"requestMetadata":{"kmsRequestId":"x","kmsOperation":"K","awsPrincipalArn":"p"}, "requestMetadata":{}}""")]
    [InlineData("GetKeyMetadata", """/* c */{"requestMetadata":{"kmsRequestId":"x","kmsOperation":"K","awsPrincipalArn":"p"}}""")]
    public void MalformedOrIncompleteBodies_AreValidationException(string api, string json)
        => Assert.Equal(XksErrorName.ValidationException, Read(Enum.Parse<XksApi>(api), json).Failure?.Name);

    [Fact]
    public void RequiredMembersOfEncrypt_AreEachRequired()
    {
        foreach (var member in new[] { "plaintext", "encryptionAlgorithm" })
        {
            var body = EncryptBody();
            body.Remove(member);
            Assert.Equal(XksErrorName.ValidationException, ErrorOf(XksApi.Encrypt, body));
        }

        foreach (var member in new[] { "awsPrincipalArn", "kmsKeyArn", "kmsOperation", "kmsRequestId" })
        {
            var body = EncryptBody();
            body["requestMetadata"]!.AsObject().Remove(member);
            Assert.Equal(XksErrorName.ValidationException, ErrorOf(XksApi.Encrypt, body));
        }
    }

    [Fact]
    public void RequiredMembersOfDecrypt_AreEachRequired()
    {
        foreach (var member in new[] { "ciphertext", "initializationVector", "authenticationTag", "encryptionAlgorithm" })
        {
            var body = DecryptBody();
            body.Remove(member);
            Assert.Equal(XksErrorName.ValidationException, ErrorOf(XksApi.Decrypt, body));
        }
    }

    [Fact]
    public void KmsOperationAndRequestId_AreOpaque()
    {
        var body = EncryptBody();
        body["requestMetadata"]!["kmsOperation"] = "BulkEncryptOfTheFuture";
        body["requestMetadata"]!["kmsRequestId"] = "not-a-uuid \u00e9";

        Assert.Null(ErrorOf(XksApi.Encrypt, body));
    }

    [Fact]
    public void UnknownMembers_AreTolerated_AndUnknownMetadataIsKeptAsRawJson()
    {
        var body = EncryptBody();
        body["futureField"] = new JsonObject { ["x"] = new JsonArray(1, "two", null) };
        body["requestMetadata"]!["sourceIdentity"] = "alice";
        body["requestMetadata"]!["principalTags"] = new JsonObject { ["team"] = "blue" };
        body["requestMetadata"]!["flag"] = true;
        body["requestMetadata"]!["nothing"] = null;

        var (failure, result) = Read(XksApi.Encrypt, body.ToJsonString());

        Assert.Null(failure);
        var additional = result.Metadata.Additional;
        Assert.Equal("\"alice\"", additional["sourceIdentity"]);
        Assert.Equal("{\"team\":\"blue\"}", additional["principalTags"]);
        Assert.Equal("true", additional["flag"]);
        Assert.Equal("null", additional["nothing"]);
    }

    [Theory]
    [InlineData(4300, null)]
    [InlineData(4301, XksErrorName.UnsupportedOperationException)]
    [InlineData(1, null)]
    [InlineData(0, XksErrorName.ValidationException)]
    public void PlaintextSize_AtTheLimitPasses_AndOnePastIsUnsupported(int bytes, XksErrorName? expected)
        => Assert.Equal(expected, ErrorOf(XksApi.Encrypt, EncryptBody(plaintext: bytes)));

    [Theory]
    [InlineData(8192, null)]
    [InlineData(8193, XksErrorName.UnsupportedOperationException)]
    [InlineData(0, null)]
    public void AadSize_AtTheLimitPasses_AndOnePastIsUnsupported(int bytes, XksErrorName? expected)
        => Assert.Equal(expected, ErrorOf(XksApi.Encrypt, EncryptBody(aad: bytes)));

    [Theory]
    [InlineData(4300, null)]
    [InlineData(4301, XksErrorName.UnsupportedOperationException)]
    public void CiphertextSize_AtTheLimitPasses_AndOnePastIsUnsupported(int bytes, XksErrorName? expected)
        => Assert.Equal(expected, ErrorOf(XksApi.Decrypt, DecryptBody(ciphertext: bytes)));

    [Theory]
    [InlineData(12, null)]
    [InlineData(16, null)]
    [InlineData(11, XksErrorName.InvalidCiphertextException)]
    [InlineData(13, XksErrorName.InvalidCiphertextException)]
    [InlineData(17, XksErrorName.InvalidCiphertextException)]
    public void IvSize_Is12Or16(int bytes, XksErrorName? expected)
        => Assert.Equal(expected, ErrorOf(XksApi.Decrypt, DecryptBody(iv: bytes)));

    [Theory]
    [InlineData(16, null)]
    [InlineData(15, XksErrorName.InvalidCiphertextException)]
    [InlineData(17, XksErrorName.InvalidCiphertextException)]
    public void TagSize_Is16(int bytes, XksErrorName? expected)
        => Assert.Equal(expected, ErrorOf(XksApi.Decrypt, DecryptBody(tag: bytes)));

    [Theory]
    [InlineData(20, null)]
    [InlineData(0, null)]
    [InlineData(21, XksErrorName.InvalidCiphertextException)]
    public void CiphertextMetadataSize_IsAtMost20(int bytes, XksErrorName? expected)
        => Assert.Equal(expected, ErrorOf(XksApi.Decrypt, DecryptBody(metadata: bytes)));

    [Theory]
    [InlineData("awsPrincipalArn", 2048, null)]
    [InlineData("awsPrincipalArn", 2049, XksErrorName.ValidationException)]
    [InlineData("kmsKeyArn", 2048, null)]
    [InlineData("kmsKeyArn", 2049, XksErrorName.ValidationException)]
    public void ArnLength_IsAtMost2048(string member, int length, XksErrorName? expected)
    {
        var body = EncryptBody();
        body["requestMetadata"]![member] = new string('a', length);

        Assert.Equal(expected, ErrorOf(XksApi.Encrypt, body));
    }

    [Theory]
    [InlineData("AES_GCM", null)]
    [InlineData("aes_gcm", XksErrorName.ValidationException)]
    [InlineData("AES_GCM_256", XksErrorName.ValidationException)]
    public void EncryptionAlgorithm_MustBeAesGcm(string algorithm, XksErrorName? expected)
    {
        var body = EncryptBody();
        body["encryptionAlgorithm"] = algorithm;

        Assert.Equal(expected, ErrorOf(XksApi.Encrypt, body));
    }

    [Theory]
    [InlineData("SHA_256", null)]
    [InlineData("SHA_384", XksErrorName.ValidationException)]
    [InlineData("", XksErrorName.ValidationException)]
    public void CdivAlgorithm_WhenPresent_MustBeSha256(string algorithm, XksErrorName? expected)
    {
        var body = EncryptBody();
        body["ciphertextDataIntegrityValueAlgorithm"] = algorithm;

        Assert.Equal(expected, ErrorOf(XksApi.Encrypt, body));
    }

    [Theory]
    [InlineData("\"SGVsbG8gV29ybGQh\"", null)]
    [InlineData("\"SGVsbG8g\\/29ybGQh\"", null)]             // JSON-escaped '/', still standard Base64
    [InlineData("\"SGVsbG8gV29ybGQh\\n\"", XksErrorName.ValidationException)]
    [InlineData("\"SGVsbG8g V29ybGQh\"", XksErrorName.ValidationException)]
    [InlineData("\"SGVsbG8gV29ybGQ\"", XksErrorName.ValidationException)]
    [InlineData("\"SGVsbG8_V29ybGQh\"", XksErrorName.ValidationException)]
    [InlineData("12", XksErrorName.ValidationException)]
    [InlineData("[\"SGVs\"]", XksErrorName.ValidationException)]
    public void Plaintext_MustBeStrictBase64(string value, XksErrorName? expected)
    {
        var json = EncryptBody().ToJsonString().Replace("\"plaintext\":\"AAAAAAAAAAAAAAAA\"", "\"plaintext\":" + value, StringComparison.Ordinal);

        Assert.Equal(expected, Read(XksApi.Encrypt, json).Failure?.Name);
    }

    [Fact]
    public void NullOptionalMembers_CountAsAbsent()
    {
        var body = EncryptBody();
        body["ciphertextDataIntegrityValueAlgorithm"] = null;
        body["requestMetadata"]!["kmsViaService"] = null;

        var (failure, result) = Read(XksApi.Encrypt, body.ToJsonString());

        Assert.Null(failure);
        Assert.False(result.CdivRequested);
        Assert.False(result.Metadata.HasKmsViaService);
    }
}
