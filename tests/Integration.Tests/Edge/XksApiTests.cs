using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>The four APIs end to end: signed HTTPS (HTTP/1.1 and HTTP/2) → edge → YARP → gRPC broker → JSON.</summary>
public sealed class XksApiTests(EdgeWithBrokerFixture fixture) : IClassFixture<EdgeWithBrokerFixture>
{
    public static TheoryData<string> Versions => new() { "1.1", "2.0" };

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task GetHealthStatus_ReturnsBrokerFleetWithProxyInfoFromConfig(string version)
    {
        var requestId = Guid.NewGuid().ToString();
        var reply = await fixture.Client.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(requestId), fixture.Ks1, Version.Parse(version));

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal(Version.Parse(version), reply.Version);
        Assert.Equal("application/json", reply.ContentType);
        var json = reply.Json;
        Assert.Equal(2, json["xksProxyFleetSize"]!.GetValue<int>());
        Assert.Equal("XksGrpc Tests", json["xksProxyVendor"]!.GetValue<string>());
        Assert.Equal("XksGrpc Edge Test 1.0", json["xksProxyModel"]!.GetValue<string>());
        Assert.Equal("FakeHSM Inc.", json["ekmVendor"]!.GetValue<string>());
        Assert.Equal("ACTIVE", json["ekmFleetDetails"]![0]!["healthStatus"]!.GetValue<string>());
        Assert.Contains("\"healthStatus\":", reply.Body, StringComparison.Ordinal);
        Assert.Equal("ks1", fixture.Broker.State.LastKeystore);
        Assert.Equal(requestId, fixture.Broker.State.LastKmsRequestIdHeader);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task GetKeyMetadata_ReturnsSpecAndUsage(string version)
    {
        var reply = await fixture.Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata("CreateKey"), fixture.Ks1, Version.Parse(version));

        Assert.True(reply.Status == HttpStatusCode.OK, reply.Body + string.Join("\n", TestLogProvider.Lines.Select(l => l.Message)));
        Assert.Equal("""{"keySpec":"AES_256","keyUsage":["ENCRYPT","DECRYPT"],"keyStatus":"ENABLED"}""", reply.Body);
    }

    [Theory]
    [MemberData(nameof(Versions))]
    public async Task EncryptThenDecrypt_WithAadAndCdiv_RoundTripsAndCdivMatchesAppendixC(string version)
    {
        var plaintext = RandomNumberGenerator.GetBytes(32);
        var aad = Encoding.ASCII.GetBytes("project=nile,department=marketing");
        var encrypt = await fixture.Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt",
            XksBodies.Encrypt(plaintext, aad, cdiv: true).ToJsonString(), fixture.Ks1, Version.Parse(version));

        Assert.Equal(HttpStatusCode.OK, encrypt.Status);
        Assert.DoesNotContain('\n', encrypt.Body);
        var json = encrypt.Json;
        var iv = Convert.FromBase64String(json["initializationVector"]!.GetValue<string>());
        var ciphertext = Convert.FromBase64String(json["ciphertext"]!.GetValue<string>());
        var tag = Convert.FromBase64String(json["authenticationTag"]!.GetValue<string>());
        var metadata = Convert.FromBase64String(json["ciphertextMetadata"]!.GetValue<string>());
        Assert.Equal(12, iv.Length);
        Assert.Equal(16, tag.Length);
        Assert.Equal(plaintext.Length, ciphertext.Length);

        // Appendix C, recomputed here: SHA-256(aad || ciphertextMetadata || iv || ciphertext || tag).
        var expectedCdiv = SHA256.HashData([.. aad, .. metadata, .. iv, .. ciphertext, .. tag]);
        Assert.Equal(Convert.ToBase64String(expectedCdiv), json["ciphertextDataIntegrityValue"]!.GetValue<string>());

        var decrypt = await fixture.Client.PostAsync("/ks1/kms/xks/v1/keys/foo/decrypt",
            XksBodies.DecryptFrom(json, aad).ToJsonString(), fixture.Ks1, Version.Parse(version));
        Assert.Equal(HttpStatusCode.OK, decrypt.Status);
        Assert.Equal(Convert.ToBase64String(plaintext), decrypt.Json["plaintext"]!.GetValue<string>());
    }

    [Fact]
    public async Task Encrypt_WithoutCdiv_OmitsCdiv()
    {
        var reply = await fixture.Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt",
            XksBodies.Encrypt([1, 2, 3]).ToJsonString(), fixture.Ks1);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.True(reply.Json["ciphertextDataIntegrityValue"] is null, reply.Body);
    }

    [Fact]
    public async Task Encrypt_WithTheSecondCredentialOfTheKeystore_Succeeds()
    {
        var reply = await fixture.Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt",
            XksBodies.Encrypt([1, 2, 3]).ToJsonString(), fixture.Ks1Second);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }

    [Fact]
    public async Task SecondKeystore_IsServedUnderItsOwnPrefix()
    {
        var reply = await fixture.Client.PostAsync("/ks2/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), fixture.Ks2);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        Assert.Equal("ks2", fixture.Broker.State.LastKeystore);
    }

    [Fact]
    public async Task UnknownRequestMetadataMembers_PassThroughToTheBrokerAsRawJson()
    {
        var body = new JsonObject
        {
            ["requestMetadata"] = new JsonObject
            {
                ["awsPrincipalArn"] = XksBodies.PrincipalArn,
                ["kmsOperation"] = "DescribeKey",
                ["kmsRequestId"] = "r-1",
                ["kmsRecipientAttestationImageSha384"] = "abc",
                ["principalTags"] = new JsonObject { ["team"] = "blue" },
                ["count"] = 3,
            },
            ["somethingNew"] = new JsonArray(1, 2),
        };
        var reply = await fixture.Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", body.ToJsonString(), fixture.Ks1);

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var additional = fixture.Broker.State.LastMetadata!.Additional;
        Assert.Equal("\"abc\"", additional["kmsRecipientAttestationImageSha384"]);
        Assert.Equal("{\"team\":\"blue\"}", additional["principalTags"]);
        Assert.Equal("3", additional["count"]);
        Assert.Equal("DescribeKey", fixture.Broker.State.LastMetadata.KmsOperation);
    }

    [Fact]
    public async Task TraceContext_TravelsToTheBroker()
    {
        await fixture.Client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), fixture.Ks1);

        Assert.True(System.Text.RegularExpressions.Regex.IsMatch(fixture.Broker.State.LastTraceParent!, "^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$"), fixture.Broker.State.LastTraceParent);
    }

    [Fact]
    public async Task Ping_WithABrokerAnswering_Is200()
    {
        var reply = await fixture.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(fixture.Client.BaseAddress, "/ping")));

        Assert.Equal(HttpStatusCode.OK, reply.Status);
    }
}
