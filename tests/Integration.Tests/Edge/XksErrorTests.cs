using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>The rows of the spec's error table that the edge and broker produce, and the 404/405 cases.</summary>
public sealed class XksErrorTests(EdgeWithBrokerFixture fixture) : IClassFixture<EdgeWithBrokerFixture>
{
    private XksClient Client => fixture.Client;

    private static void AssertSpecError(XksClient.Reply reply, HttpStatusCode status, string errorName)
    {
        Assert.True(reply.Status == status, $"expected {(int)status}, got {(int)reply.Status}: {reply.Body}");
        Assert.Equal("application/json", reply.ContentType);
        Assert.Equal(errorName, reply.ErrorName);
        var message = reply.Json["errorMessage"]?.GetValue<string>() ?? "";
        Assert.True(message.Length < 512);
        Assert.All(message, c => Assert.InRange(c, ' ', '~'));
        Assert.DoesNotContain('\n', reply.Body);
    }

    [Theory]
    [InlineData("/ks1/invalid/kms/xks/v1/health")]
    [InlineData("/ks1/invalid/kms/xks/v1/keys/foo/encrypt")]
    [InlineData("/ks3/kms/xks/v1/keys/foo/metadata")]
    [InlineData("/ks1/kms/xks/v1/keys/foo/bogus")]
    [InlineData("/ks1/kms/xks/v1/keys/foo")]
    [InlineData("/ks1/kms/xks/v1/health/")]
    [InlineData("/ks1/kms/xks/v2/health")]
    [InlineData("/kms/xks/v1/health")]
    [InlineData("/")]
    public async Task UnknownPath_IsInvalidUriPathException(string path)
    {
        var reply = await Client.PostAsync(path, XksBodies.Health(), fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.NotFound, "InvalidUriPathException");
    }

    [Theory]
    [InlineData("GET", "/ks1/kms/xks/v1/health")]
    [InlineData("GET", "/ks1/kms/xks/v1/keys/foo/encrypt")]
    [InlineData("PUT", "/ks1/kms/xks/v1/keys/foo/decrypt")]
    [InlineData("DELETE", "/ks1/kms/xks/v1/keys/foo/metadata")]
    public async Task OtherMethodThanPost_OnAnXksUri_Is405WithAllowPost(string method, string path)
    {
        var reply = await Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), new Uri(Client.BaseAddress, path)));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, reply.Status);
        Assert.Equal("POST", string.Join(",", reply.Message.Content.Headers.Allow));
        Assert.Equal("ValidationException", reply.ErrorName);
    }

    [Theory]
    [InlineData("tilde~key")]
    public async Task KeyIdOutsideTheSpecCharacters_IsKeyNotFound(string keyId)
    {
        var reply = await Client.PostAsync($"/ks1/kms/xks/v1/keys/{keyId}/metadata", XksBodies.KeyMetadata(), fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.NotFound, "KeyNotFoundException");
    }

    [Fact]
    public async Task KeyIdOf128Characters_ReachesTheBroker_And129IsKeyNotFoundAtTheEdge()
    {
        var calls = fixture.Broker.State.Calls;
        var at128 = await Client.PostAsync($"/ks1/kms/xks/v1/keys/{new string('k', 128)}/metadata", XksBodies.KeyMetadata(), fixture.Ks1);
        AssertSpecError(at128, HttpStatusCode.NotFound, "KeyNotFoundException");
        Assert.Equal(calls + 1, fixture.Broker.State.Calls);

        var at129 = await Client.PostAsync($"/ks1/kms/xks/v1/keys/{new string('k', 129)}/metadata", XksBodies.KeyMetadata(), fixture.Ks1);
        AssertSpecError(at129, HttpStatusCode.NotFound, "KeyNotFoundException");
        Assert.Equal(calls + 1, fixture.Broker.State.Calls);
    }

    [Fact]
    public async Task UnknownKey_IsKeyNotFoundFromTheBroker()
    {
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/non_existing_key/encrypt", XksBodies.Encrypt([1, 2]).ToJsonString(), fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.NotFound, "KeyNotFoundException");
    }

    [Fact]
    public async Task DecryptWithADifferentAad_IsInvalidCiphertext()
    {
        var encrypt = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1, 2, 3], [9]).ToJsonString(), fixture.Ks1);
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/decrypt", XksBodies.DecryptFrom(encrypt.Json, [8]).ToJsonString(), fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.BadRequest, "InvalidCiphertextException");
    }

    [Fact]
    public async Task DecryptOnAnEncryptOnlyKey_IsInvalidKeyUsage()
    {
        var encrypt = await Client.PostAsync("/ks1/kms/xks/v1/keys/encrypt_only_key/encrypt", XksBodies.Encrypt([1, 2, 3]).ToJsonString(), fixture.Ks1);
        Assert.Equal(HttpStatusCode.OK, encrypt.Status);
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/encrypt_only_key/decrypt", XksBodies.DecryptFrom(encrypt.Json).ToJsonString(), fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.BadRequest, "InvalidKeyUsageException");
    }

    [Fact]
    public async Task EncryptOnADisabledKey_IsInvalidState()
    {
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/disabled_key/encrypt", XksBodies.Encrypt([1]).ToJsonString(), fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.BadRequest, "InvalidStateException");
    }

    [Theory]
    [InlineData("/ks1/kms/xks/v1/health", "{}")]
    [InlineData("/ks1/kms/xks/v1/health", "{\n    \"requestMetadata\": {\n    }\n}")]
    [InlineData("/ks1/kms/xks/v1/keys/foo/metadata", "{}")]
    [InlineData("/ks1/kms/xks/v1/keys/foo/metadata", "{\"requestMetadata\":{}}")]
    [InlineData("/ks1/kms/xks/v1/keys/foo/encrypt", "not json")]
    public async Task MissingOrEmptyRequestMetadata_IsValidationException(string path, string body)
    {
        var reply = await Client.PostAsync(path, body, fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.BadRequest, "ValidationException");
    }

    [Fact]
    public async Task EncryptWithoutPlaintext_IsValidationException()
    {
        var body = XksBodies.Encrypt([1]);
        body.Remove("plaintext");
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", body.ToJsonString(), fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.BadRequest, "ValidationException");
    }

    [Fact]
    public async Task UnknownAccessKeyId_IsAuthenticationFailed()
    {
        var stranger = fixture.Ks1 with { AccessKeyId = "Invalid" + fixture.Ks1.AccessKeyId };
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), stranger);

        AssertSpecError(reply, HttpStatusCode.Unauthorized, "AuthenticationFailedException");
    }

    [Fact]
    public async Task WrongSecret_IsAuthenticationFailed()
    {
        var wrong = fixture.Ks1 with { Secret = "Invalid" + fixture.Ks1.Secret };
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), wrong);

        AssertSpecError(reply, HttpStatusCode.Unauthorized, "AuthenticationFailedException");
    }

    [Fact]
    public async Task SecondKeystoresCredential_OnTheFirstKeystore_IsAuthenticationFailed()
    {
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), fixture.Ks2);

        AssertSpecError(reply, HttpStatusCode.Unauthorized, "AuthenticationFailedException");
    }

    [Fact]
    public async Task BodyTamperedAfterSigning_IsAuthenticationFailed()
    {
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1, 2, 3]).ToJsonString(), fixture.Ks1,
            tamper: request => request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(XksBodies.Encrypt([1, 2, 4]).ToJsonString()))
            {
                Headers = { ContentType = new("application/json") },
            });

        AssertSpecError(reply, HttpStatusCode.Unauthorized, "AuthenticationFailedException");
    }

    [Fact]
    public async Task UnsignedRequest_IsAuthenticationFailed()
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Client.BaseAddress, "/ks1/kms/xks/v1/health"))
        {
            Content = new StringContent(XksBodies.Health(), Encoding.UTF8, "application/json"),
        };
        var reply = await Client.SendAsync(request);

        AssertSpecError(reply, HttpStatusCode.Unauthorized, "AuthenticationFailedException");
    }

    // The edge answers from Content-Length without reading the body; over HTTP/1.1 a client that
    // would keep sending must ask with Expect: 100-continue to see the answer (curl does so for large bodies).
    [Theory]
    [MemberData(nameof(XksApiTests.Versions), MemberType = typeof(XksApiTests))]
    public async Task BodyLargerThanTheCap_IsUnsupportedOperationBeforeAuthentication(string version)
    {
        var huge = "{\"pad\":\"" + new string('a', 70_000) + "\"}";
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", huge, fixture.Ks1, Version.Parse(version),
            tamper: request => request.Headers.ExpectContinue = true);

        AssertSpecError(reply, HttpStatusCode.NotImplemented, "UnsupportedOperationException");
    }

    // Limits at their edge and one past (configured maxima: plaintext 8192, AAD 16384; spec minima 4300 / 8192).
    [Theory]
    [InlineData(4300, 0, HttpStatusCode.OK)]
    [InlineData(8192, 0, HttpStatusCode.OK)]
    [InlineData(8193, 0, HttpStatusCode.NotImplemented)]
    [InlineData(16, 8192, HttpStatusCode.OK)]
    [InlineData(16, 16384, HttpStatusCode.OK)]
    [InlineData(16, 16385, HttpStatusCode.NotImplemented)]
    public async Task EncryptSizes_AtTheLimitPass_AndOnePastIsUnsupported(int plaintextBytes, int aadBytes, HttpStatusCode expected)
    {
        var body = XksBodies.Encrypt(new byte[plaintextBytes], aadBytes == 0 ? null : new byte[aadBytes], cdiv: true);
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", body.ToJsonString(), fixture.Ks1);

        Assert.True(expected == reply.Status, reply.Body);
        if (expected != HttpStatusCode.OK)
        {
            AssertSpecError(reply, expected, "UnsupportedOperationException");
        }
    }

    [Fact]
    public async Task ArnOf2048Characters_IsAccepted_And2049IsValidationException()
    {
        var ok = new JsonObject { ["requestMetadata"] = XksBodies.Metadata("DescribeKey") };
        ok["requestMetadata"]!["awsPrincipalArn"] = "arn:aws:iam::123456789012:user/" + new string('a', 2048 - 31);
        Assert.Equal(2048, ok["requestMetadata"]!["awsPrincipalArn"]!.GetValue<string>().Length);
        var accepted = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", ok.ToJsonString(), fixture.Ks1);
        Assert.Equal(HttpStatusCode.OK, accepted.Status);

        ok["requestMetadata"]!["awsPrincipalArn"] = "arn:aws:iam::123456789012:user/" + new string('a', 2049 - 31);
        var refused = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", ok.ToJsonString(), fixture.Ks1);
        AssertSpecError(refused, HttpStatusCode.BadRequest, "ValidationException");
    }

    [Theory]
    [InlineData("encryptionAlgorithm", "AES_CBC", "ValidationException")]
    [InlineData("ciphertextDataIntegrityValueAlgorithm", "SHA_1", "ValidationException")]
    [InlineData("plaintext", "AQID\n", "ValidationException")]
    [InlineData("plaintext", "AQI-", "ValidationException")]
    [InlineData("plaintext", "AQI", "ValidationException")]
    public async Task EncryptWithABadField_IsRefused(string member, string value, string errorName)
    {
        var body = XksBodies.Encrypt([1, 2, 3]);
        body[member] = value;
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", body.ToJsonString(), fixture.Ks1);

        AssertSpecError(reply, HttpStatusCode.BadRequest, errorName);
    }

    [Theory]
    [InlineData("initializationVector", 11, "InvalidCiphertextException")]
    [InlineData("authenticationTag", 15, "InvalidCiphertextException")]
    [InlineData("ciphertextMetadata", 21, "InvalidCiphertextException")]
    public async Task DecryptWithAWrongSizedField_IsRefused(string member, int bytes, string errorName)
    {
        var encrypt = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1, 2, 3]).ToJsonString(), fixture.Ks1);
        var body = XksBodies.DecryptFrom(encrypt.Json);
        body[member] = Convert.ToBase64String(new byte[bytes]);
        var reply = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/decrypt", body.ToJsonString(), fixture.Ks1);

        // A 16-byte IV is valid at the edge; the broker's GCM then fails the tag check.
        AssertSpecError(reply, HttpStatusCode.BadRequest, errorName);
    }
}
