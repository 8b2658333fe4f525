using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>An XKS caller: HTTPS (trusting only the test CA), HTTP/1.1 or HTTP/2, SigV4 by AWSSDK.Core.</summary>
internal sealed class XksClient : IDisposable
{
    private readonly HttpMessageInvoker _http;

    public XksClient(Uri baseAddress, X509Certificate2 ca, X509Certificate2? clientCertificate = null)
    {
        BaseAddress = baseAddress;
        var handler = new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(1) };
        if (clientCertificate is not null)
        {
            handler.SslOptions.ClientCertificates = [clientCertificate];
        }

        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => IsIssuedBy(certificate, ca);
        _http = new HttpMessageInvoker(handler);
    }

    /// <summary>The server certificate chains to the test CA (the only trust anchor the tests use).</summary>
    public static bool IsIssuedBy(X509Certificate? certificate, X509Certificate2 ca)
    {
        if (certificate is null)
        {
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
    }

    public Uri BaseAddress { get; }

    public sealed record Reply(HttpStatusCode Status, string Body, string? ContentType, Version Version, HttpResponseMessage Message)
    {
        public JsonNode Json => JsonNode.Parse(Body)!;

        public string? ErrorName => Json["errorName"]?.GetValue<string>();
    }

    /// <summary>Signs and sends; <paramref name="tamper"/> may change the request after signing.</summary>
    public async Task<Reply> PostAsync(string path, string json, TestCredential credential, Version? version = null,
        Action<HttpRequestMessage>? tamper = null, string region = "us-east-1", CancellationToken cancellationToken = default)
    {
        var body = Encoding.UTF8.GetBytes(json);
        var headers = SdkSigner.Sign(BaseAddress, path, body, credential.AccessKeyId, credential.Secret, region);
        return await PostSignedAsync(path, body, headers, version, tamper, cancellationToken);
    }

    /// <summary>Sends a body with headers signed earlier (replays within the 5-minute window).</summary>
    public async Task<Reply> PostSignedAsync(string path, byte[] body, IReadOnlyDictionary<string, string> headers, Version? version = null,
        Action<HttpRequestMessage>? tamper = null, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, new Uri(BaseAddress, path))
        {
            Version = version ?? HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = new ByteArrayContent(body),
        };
        foreach (var (name, value) in headers)
        {
            if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(value);
            }
            else if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) || name.Equals("Host", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            else
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }
        }

        tamper?.Invoke(request);
        return await SendAsync(request, cancellationToken);
    }

    public async Task<Reply> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken = default)
    {
        var response = await _http.SendAsync(request, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return new Reply(response.StatusCode, text, response.Content.Headers.ContentType?.MediaType, response.Version, response);
    }

    /// <summary>Polls GET /ping until the edge reports a broker (as the lab's readiness check does).</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            var reply = await SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(BaseAddress, "/ping")));
            if (reply.Status == HttpStatusCode.OK)
            {
                return;
            }

            if (DateTime.UtcNow > until)
            {
                throw new TimeoutException("The edge did not become ready: " + reply.Status);
            }

            await Task.Delay(50);
        }
    }

    public void Dispose() => _http.Dispose();
}

/// <summary>Request bodies as KMS sends them (spec examples, conformance client shapes).</summary>
internal static class XksBodies
{
    public const string PrincipalArn = "arn:aws:iam::123456789012:user/Alice";
    public const string KeyArn = "arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab";

    public static JsonObject Metadata(string operation, string? requestId = null) => new()
    {
        ["awsPrincipalArn"] = PrincipalArn,
        ["kmsKeyArn"] = KeyArn,
        ["kmsOperation"] = operation,
        ["kmsRequestId"] = requestId ?? Guid.NewGuid().ToString(),
        ["kmsViaService"] = "ebs",
    };

    public static string Health(string? requestId = null) => new JsonObject
    {
        ["requestMetadata"] = new JsonObject { ["kmsOperation"] = "KmsHealthCheck", ["kmsRequestId"] = requestId ?? Guid.NewGuid().ToString() },
    }.ToJsonString();

    public static string KeyMetadata(string operation = "DescribeKey") => new JsonObject { ["requestMetadata"] = Metadata(operation) }.ToJsonString();

    public static JsonObject Encrypt(byte[] plaintext, byte[]? aad = null, bool cdiv = false)
    {
        var body = new JsonObject
        {
            ["requestMetadata"] = Metadata("Encrypt"),
            ["plaintext"] = Convert.ToBase64String(plaintext),
            ["encryptionAlgorithm"] = "AES_GCM",
        };
        if (aad is not null)
        {
            body["additionalAuthenticatedData"] = Convert.ToBase64String(aad);
        }

        if (cdiv)
        {
            body["ciphertextDataIntegrityValueAlgorithm"] = "SHA_256";
        }

        return body;
    }

    public static JsonObject DecryptFrom(JsonNode encryptReply, byte[]? aad = null)
    {
        var body = new JsonObject
        {
            ["requestMetadata"] = Metadata("Decrypt"),
            ["ciphertext"] = encryptReply["ciphertext"]!.GetValue<string>(),
            ["initializationVector"] = encryptReply["initializationVector"]!.GetValue<string>(),
            ["authenticationTag"] = encryptReply["authenticationTag"]!.GetValue<string>(),
            ["encryptionAlgorithm"] = "AES_GCM",
        };
        if (encryptReply["ciphertextMetadata"] is { } metadata)
        {
            body["ciphertextMetadata"] = metadata.GetValue<string>();
        }

        if (aad is not null)
        {
            body["additionalAuthenticatedData"] = Convert.ToBase64String(aad);
        }

        return body;
    }
}
