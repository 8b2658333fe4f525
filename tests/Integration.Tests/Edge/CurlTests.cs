using System.Diagnostics;
using System.Text.Json.Nodes;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>
/// Requests exactly as AWS's conformance client sends them: curl --aws-sigv4 (a second independent
/// signer), pretty-printed bodies, "Content-Type:application/json", HTTP/2 by ALPN or HTTP/1.1.
/// </summary>
public sealed class CurlTests(EdgeWithBrokerFixture fixture) : IClassFixture<EdgeWithBrokerFixture>
{
    private async Task<string> CurlAsync(string path, string body, TestCredential credential, string httpVersion)
    {
        var caFile = Path.Combine(fixture.Directory_, "ca.pem");
        var start = new ProcessStartInfo("curl")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            ArgumentList =
            {
                "--silent", "-i", httpVersion, "--cacert", caFile,
                "-H", "Content-Type:application/json",
                "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy",
                "--user", credential.AccessKeyId + ":" + credential.Secret,
                "--data-binary", body,
                $"https://localhost:{fixture.Edge.BaseAddress.Port}{path}",
            },
        };
        using var curl = Process.Start(start)!;
        var output = await curl.StandardOutput.ReadToEndAsync();
        await curl.WaitForExitAsync();
        return output.TrimEnd('\n', '\r');
    }

    private static string LastLine(string output) => output.Split('\n')[^1].TrimEnd('\r');

    [Theory]
    [InlineData("--http2")]
    [InlineData("--http1.1")]
    public async Task EncryptThenDecrypt_WithCurlSigV4_WorksAsTheConformanceClientExpects(string httpVersion)
    {
        var encryptBody = $$"""
            {
                "requestMetadata": {
                    "awsPrincipalArn": "{{XksBodies.PrincipalArn}}",
                    "kmsKeyArn": "{{XksBodies.KeyArn}}",
                    "kmsOperation": "Encrypt",
                    "kmsRequestId": "{{Guid.NewGuid()}}",
                    "kmsViaService": "ebs"
                },
                "additionalAuthenticatedData": "cHJvamVjdD1uaWxlLGRlcGFydG1lbnQ9bWFya2V0aW5n",
                "plaintext": "SGVsbG8gV29ybGQh",
                "ciphertextDataIntegrityValueAlgorithm": "SHA_256",
                "encryptionAlgorithm": "AES_GCM"
            }
            """;
        var encrypt = await CurlAsync("/ks1/kms/xks/v1/keys/foo/encrypt", encryptBody, fixture.Ks1, httpVersion);
        Assert.Contains("\"ciphertextDataIntegrityValue\":", encrypt, StringComparison.Ordinal);
        Assert.StartsWith(httpVersion == "--http2" ? "HTTP/2 200" : "HTTP/1.1 200", encrypt, StringComparison.Ordinal);
        var reply = JsonNode.Parse(LastLine(encrypt))!;

        var decryptBody = XksBodies.DecryptFrom(reply, "project=nile,department=marketing"u8.ToArray())
            .ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var decrypt = await CurlAsync("/ks1/kms/xks/v1/keys/foo/decrypt", decryptBody, fixture.Ks1, httpVersion);
        Assert.Equal("SGVsbG8gV29ybGQh", JsonNode.Parse(LastLine(decrypt))!["plaintext"]!.GetValue<string>());
    }

    [Fact]
    public async Task HealthWithAnInvalidPrefix_IsInvalidUriPathException()
    {
        var output = await CurlAsync("/ks1/invalid/kms/xks/v1/health", XksBodies.Health(), fixture.Ks1, "--http2");

        Assert.Contains("InvalidUriPathException", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HealthWithAnInvalidAccessKeyId_IsAuthenticationFailed()
    {
        var output = await CurlAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), fixture.Ks1 with { AccessKeyId = "Invalid" + fixture.Ks1.AccessKeyId }, "--http2");

        Assert.Contains("AuthenticationFailedException", output, StringComparison.Ordinal);
    }
}
