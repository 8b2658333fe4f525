using System.Text.Json;
using XksGrpc.Deploy.Tests.Lab;

namespace XksGrpc.Deploy.Tests.Conformance;

/// <summary>
/// Cases an outside check may hold out, through the lab with curl: fields this version does not know,
/// key ids outside the spec's characters, and every size at the spec's minimum limits.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class HeldOutCaseTests(LabFixture fixture) : IClassFixture<LabFixture>
{
    private const string Ks1 = "/ks1/kms/xks/v1";

    private LabProcess Lab => fixture.Lab;

    private KmsConsoleFile Credential => Lab.ConsoleFile("ks1-1");

    [Fact]
    public async Task UnknownFields_AtTopLevelAndInRequestMetadata_AreAccepted_ByAllFourApis()
    {
        const string extras = """
            "awsSourceVpc":"vpc-0123","awsSourceVpce":"vpce-0123","kmsViaService":"ebs",
            "futureMetadata":{"nested":[1,"two",null,{"x":true}]},"kmsOperation2":"x"
            """;
        var md = "\"awsPrincipalArn\":\"arn:aws:iam::123456789012:user/Alice\",\"kmsKeyArn\":\"arn:aws:kms:us-east-1:123456789012:key/k\",\"kmsRequestId\":\"" + Guid.NewGuid() + "\"," + extras;

        var health = await Post("health", "{\"requestMetadata\":{\"kmsOperation\":\"KmsHealthCheck\",\"kmsRequestId\":\"r\"," + extras + "},\"futureTopLevel\":{\"a\":1}}");
        Assert.True(health.Status == 200, health.Raw);
        var metadata = await Post("keys/foo/metadata", "{\"requestMetadata\":{" + md + ",\"kmsOperation\":\"DescribeKey\"},\"futureTopLevel\":[]}");
        Assert.True(metadata.Status == 200, metadata.Raw);
        var encrypted = await Post("keys/foo/encrypt",
            "{\"requestMetadata\":{" + md + ",\"kmsOperation\":\"Encrypt\"},\"plaintext\":\"SGVsbG8=\",\"encryptionAlgorithm\":\"AES_GCM\",\"futureTopLevel\":\"x\"}");
        Assert.True(encrypted.Status == 200, encrypted.Raw);
        var decrypted = await Post("keys/foo/decrypt",
            "{\"requestMetadata\":{" + md + ",\"kmsOperation\":\"Decrypt\"}," + CiphertextFields(encrypted.Body) + ",\"encryptionAlgorithm\":\"AES_GCM\",\"futureTopLevel\":0}");
        Assert.True(decrypted.Status == 200, decrypted.Raw);
        Assert.Equal("SGVsbG8=", decrypted.Body.GetProperty("plaintext").GetString());
    }

    [Theory]
    [InlineData("BulkEncrypt", "not-a-uuid")]
    [InlineData("ReEncrypt", "x")]
    [InlineData("GenerateDataKeyWithoutPlaintext", "\u00e9\u00e8 opaque / id with spaces")]
    public async Task KmsOperation_AndKmsRequestId_AreOpaque(string operation, string requestId)
    {
        var response = await Post("keys/foo/encrypt", JsonSerializer.Serialize(new
        {
            requestMetadata = new { awsPrincipalArn = "AWS Internal", kmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/k", kmsOperation = operation, kmsRequestId = requestId },
            plaintext = "AAAA",
            encryptionAlgorithm = "AES_GCM",
        }));

        Assert.True(response.Status == 200, response.Raw);
    }

    [Theory]
    [InlineData("f%C3%A9")]
    [InlineData("f\u00e9")]
    [InlineData("%E2%9C%93")]
    [InlineData("%D0%BA%D0%BB%D1%8E%D1%87")]
    [InlineData("f%20o")]
    [InlineData("f:o")]
    [InlineData("f+o")]
    [InlineData("f%2Fo")]
    public async Task KeyId_OutsideTheSpecsCharacters_IsKeyNotFound_ForEveryKeyApi(string keyId)
    {
        var metadata = await Post($"keys/{keyId}/metadata", """{"requestMetadata":{"awsPrincipalArn":"a","kmsOperation":"DescribeKey","kmsRequestId":"r"}}""");
        var encrypt = await Post($"keys/{keyId}/encrypt", """{"requestMetadata":{"awsPrincipalArn":"a","kmsKeyArn":"k","kmsOperation":"Encrypt","kmsRequestId":"r"},"plaintext":"AAAA","encryptionAlgorithm":"AES_GCM"}""");

        foreach (var response in new[] { metadata, encrypt })
        {
            Assert.True(response.Status == 404, $"{keyId}: {response.Status} {response.Raw}");
            Assert.Equal("KeyNotFoundException", response.Body.GetProperty("errorName").GetString());
        }
    }

    [Fact]
    public async Task TheSpecsMaximumSizes_RoundTrip_Plaintext4300_Aad8192_Arns2048()
    {
        var plaintext = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(4300));
        var aad = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8192));
        var principal = "arn:aws:iam::123456789012:role/" + new string('p', 2048 - "arn:aws:iam::123456789012:role/".Length);
        var keyArn = "arn:aws:kms:us-east-1:123456789012:key/" + new string('k', 2048 - "arn:aws:kms:us-east-1:123456789012:key/".Length);
        Assert.Equal((5736, 10924, 2048, 2048), (plaintext.Length, aad.Length, principal.Length, keyArn.Length));
        var md = $$"""{"awsPrincipalArn":"{{principal}}","kmsKeyArn":"{{keyArn}}","kmsRequestId":"{{Guid.NewGuid()}}" """;

        var encrypted = await Post("keys/foo/encrypt",
            "{\"requestMetadata\":" + md + ",\"kmsOperation\":\"Encrypt\"},\"plaintext\":\"" + plaintext + "\",\"additionalAuthenticatedData\":\"" + aad + "\",\"encryptionAlgorithm\":\"AES_GCM\",\"ciphertextDataIntegrityValueAlgorithm\":\"SHA_256\"}");
        Assert.True(encrypted.Status == 200, encrypted.Raw);
        Assert.Equal(4300, Convert.FromBase64String(encrypted.Body.GetProperty("ciphertext").GetString()!).Length);

        var decrypted = await Post("keys/foo/decrypt",
            "{\"requestMetadata\":" + md + ",\"kmsOperation\":\"Decrypt\"}," + CiphertextFields(encrypted.Body) + ",\"additionalAuthenticatedData\":\"" + aad + "\",\"encryptionAlgorithm\":\"AES_GCM\"}");
        Assert.True(decrypted.Status == 200, decrypted.Raw);
        Assert.Equal(plaintext, decrypted.Body.GetProperty("plaintext").GetString());
    }

    private Task<XksCurl.Response> Post(string operation, string json) =>
        XksCurl.PostJsonAsync(Lab, Credential, $"{Ks1}/{operation}", json);

    private static string CiphertextFields(JsonElement encrypted)
    {
        var fields = new List<string>();
        foreach (var name in new[] { "ciphertext", "ciphertextMetadata", "initializationVector", "authenticationTag" })
        {
            if (encrypted.TryGetProperty(name, out var value))
            {
                fields.Add($"\"{name}\":\"{value.GetString()}\"");
            }
        }

        return string.Join(",", fields);
    }
}
