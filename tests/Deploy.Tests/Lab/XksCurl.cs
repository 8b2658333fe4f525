using System.Text.Json;

namespace XksGrpc.Deploy.Tests.Lab;

/// <summary>XKS calls the way the README and the spec's Appendix D make them: curl --aws-sigv4.</summary>
internal static class XksCurl
{
    private static readonly JsonSerializerOptions IgnoreNulls = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public sealed record Response(int Status, JsonElement Body, string Raw);

    public static Task<Response> PostAsync(LabProcess lab, KmsConsoleFile credential, string uriPath, string operation, object body) =>
        PostJsonAsync(lab, credential, $"{uriPath}/{operation}", JsonSerializer.Serialize(body, IgnoreNulls));

    /// <summary>POSTs <paramref name="json"/> as it is to <paramref name="path"/> (after https://localhost:port).</summary>
    public static async Task<Response> PostJsonAsync(LabProcess lab, KmsConsoleFile credential, string path, string json, params string[] extraCurlArgs)
    {
        var args = new List<string>
        {
            "-s", "--max-time", "10",
            "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy",
            "--user", $"{credential.AccessKeyId}:{credential.Secret}",
            "-X", "POST", "-H", "Content-Type: application/json",
            "--data-binary", json,
            "-w", "\n%{http_code}",
        };
        args.AddRange(TlsArguments(lab));
        args.AddRange(extraCurlArgs);
        args.Add($"https://localhost:{lab.Port}{path}");

        var result = await Shell.RunAsync("curl", [.. args]);
        Assert.True(result.ExitCode == 0, $"curl failed ({result.ExitCode}): {result.StdErr}");
        var split = result.StdOut.LastIndexOf('\n');
        var status = int.Parse(result.StdOut[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture);
        var raw = result.StdOut[..split];
        return new Response(status, ParseOrDefault(raw), raw);
    }

    public static Task<Response> MetadataAsync(LabProcess lab, KmsConsoleFile credential, string keyId) =>
        PostAsync(lab, credential, credential.UriPath, $"keys/{keyId}/metadata", new
        {
            requestMetadata = new { awsPrincipalArn = "arn:aws:iam::123456789012:user/Alice", kmsOperation = "DescribeKey", kmsRequestId = Guid.NewGuid().ToString() },
        });

    public static Task<Response> EncryptAsync(LabProcess lab, KmsConsoleFile credential, string keyId, string plaintext, string? uriPath = null) =>
        PostAsync(lab, credential, uriPath ?? credential.UriPath, $"keys/{keyId}/encrypt", new
        {
            requestMetadata = Metadata("Encrypt"),
            plaintext,
            encryptionAlgorithm = "AES_GCM",
        });

    public static Task<Response> DecryptAsync(LabProcess lab, KmsConsoleFile credential, string keyId, JsonElement encrypted) =>
        PostAsync(lab, credential, credential.UriPath, $"keys/{keyId}/decrypt", new
        {
            requestMetadata = Metadata("Decrypt"),
            ciphertext = encrypted.GetProperty("ciphertext").GetString(),
            ciphertextMetadata = encrypted.TryGetProperty("ciphertextMetadata", out var md) ? md.GetString() : null,
            initializationVector = encrypted.GetProperty("initializationVector").GetString(),
            authenticationTag = encrypted.GetProperty("authenticationTag").GetString(),
            encryptionAlgorithm = "AES_GCM",
        });

    public static Task<Response> HealthAsync(LabProcess lab, KmsConsoleFile credential) =>
        PostAsync(lab, credential, credential.UriPath, "health", new
        {
            requestMetadata = new { kmsOperation = "KmsHealthCheck", kmsRequestId = Guid.NewGuid().ToString() },
        });

    /// <summary>--cacert, and the lab client certificate when the lab requires one.</summary>
    public static IEnumerable<string> TlsArguments(LabProcess lab) => lab.Mtls
        ? ["--cacert", lab.StatePath("tls/ca.pem"), "--cert", lab.StatePath("tls/client.pem"), "--key", lab.StatePath("tls/client.key")]
        : ["--cacert", lab.StatePath("tls/ca.pem")];

    /// <summary>GET /ping, the load balancer's check; 0 when the TLS handshake fails.</summary>
    public static async Task<int> PingAsync(LabProcess lab, bool withClientCertificate)
    {
        var args = new List<string> { "-s", "-o", "/dev/null", "--max-time", "5", "-w", "%{http_code}", "--cacert", lab.StatePath("tls/ca.pem") };
        if (withClientCertificate)
        {
            args.AddRange(["--cert", lab.StatePath("tls/client.pem"), "--key", lab.StatePath("tls/client.key")]);
        }

        args.Add($"https://localhost:{lab.Port}/ping");
        var result = await Shell.RunAsync("curl", [.. args]);
        return int.TryParse(result.StdOut, out var code) ? code : 0;
    }

    public static async Task WaitForPingAsync(LabProcess lab, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (await PingAsync(lab, lab.Mtls) != 200)
        {
            Assert.True(DateTime.UtcNow < deadline, $"/ping not 200 within {timeout}\n{lab.Output}");
            await Task.Delay(100);
        }
    }

    /// <summary>The body as JSON, or an undefined element when it is not JSON (the raw text still tells).</summary>
    private static JsonElement ParseOrDefault(string raw)
    {
        try
        {
            return raw.Length > 0 ? JsonDocument.Parse(raw).RootElement.Clone() : default;
        }
        catch (JsonException)
        {
            return default;
        }
    }

    private static object Metadata(string operation) => new
    {
        awsPrincipalArn = "arn:aws:iam::123456789012:user/Alice",
        kmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        kmsOperation = operation,
        kmsRequestId = Guid.NewGuid().ToString(),
    };
}
