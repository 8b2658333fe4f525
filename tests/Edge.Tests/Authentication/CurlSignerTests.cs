using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary>
/// A tiny HTTPS Kestrel server (self-signed certificate made here, HTTP/1.1 and HTTP/2 by ALPN) whose only
/// endpoint runs the verifier on the raw request target, the headers and the exact body, answering 200 or
/// 401 with the failure. curl signs with <c>--aws-sigv4</c> exactly as the spec's Appendix D shows.
/// </summary>
public sealed class CurlServerFixture : IAsyncLifetime
{
    public const string Ks1AccessKeyId = "HGIE2BUAFNDMBCMSQVWLGCEXAMPLE";
    public const string Ks1Secret = "VU6W2byoiBrhDqNGbx703oL0syCAmhlQgwNUT123456";
    public const string Ks2AccessKeyId = "MUBSXM6K3KMXHN6RRCXI7TWQH4NU";
    public const string Ks2Secret = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE";

    private WebApplication? _app;

    public string BaseAddress { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        X509Certificate2 certificate = CreateSelfSignedCertificate();
        var verifier = new SigV4Verifier(
            new TestCredentialSource(new SigV4Credential(Ks1AccessKeyId, "ks1", Ks1Secret), new SigV4Credential(Ks2AccessKeyId, "ks2", Ks2Secret)),
            TimeProvider.System,
            new SigV4VerifierOptions(),
            new SigningKeyCache());

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttps(certificate);
        }));
        _app = builder.Build();
        _app.MapPost("/{**path}", async (HttpContext context) =>
        {
            string target = context.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
            int question = target.IndexOf('?', StringComparison.Ordinal);
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body);
            SigV4Result result = verifier.Verify(new SigV4Request(
                context.Request.Method,
                question < 0 ? target : target[..question],
                question < 0 ? string.Empty : target[(question + 1)..],
                context.Request.Headers,
                body.ToArray()));
            return result.Succeeded
                ? Results.Text($"ok {result.Credential.Keystore} {context.Request.Protocol}")
                : Results.Text(result.Failure.ToString(), statusCode: StatusCodes.Status401Unauthorized);
        });
        await _app.StartAsync();
        string address = _app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.First();
        BaseAddress = "https://127.0.0.1:" + new Uri(address).Port;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }

    private static X509Certificate2 CreateSelfSignedCertificate()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        using X509Certificate2 ephemeral = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }
}

public sealed class CurlSignerTests(CurlServerFixture server) : IClassFixture<CurlServerFixture>
{
    private const string EncryptBody = """
        {
            "requestMetadata": {
                "awsPrincipalArn": "arn:aws:iam::123456789012:user/Alice",
                "kmsKeyArn": "arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "kmsOperation": "GenerateDataKey",
                "kmsRequestId": "4112f4d6-db54-4af4-ae30-c55a22a8dfae"
            },
            "plaintext": "SGVsbG8gV29ybGQh",
            "encryptionAlgorithm": "AES_GCM"
        }
        """;

    [Theory]
    [InlineData("--http1.1", "/ks1/kms/xks/v1/keys/foo/encrypt", "HTTP/1.1")]
    [InlineData("--http2", "/ks1/kms/xks/v1/keys/foo/encrypt", "HTTP/2")]
    [InlineData("--http1.1", "/kms/xks/v1/health", "HTTP/1.1")]
    [InlineData("--http2", "/keystores/4a0d79d6-1d1b-49fd-9dbe-799cb9c0fb3f/kms/xks/v1/keys/Key_1.v2-x/decrypt", "HTTP/2")]
    public async Task Curl_SigningAnXksPost_IsAccepted(string httpVersion, string path, string expectedProtocol)
    {
        (int status, string body) = await Curl(httpVersion, path, "aws:amz:us-east-1:kms-xks-proxy", CurlServerFixture.Ks1AccessKeyId, CurlServerFixture.Ks1Secret);

        Assert.Equal((200, $"ok ks1 {expectedProtocol}"), (status, body));
    }

    [Theory]
    [InlineData("/ks1/kms/xks/v1/keys/f%C3%A9/metadata")]
    [InlineData("/ks1/kms/xks/v1/keys/fé/metadata")]
    [InlineData("/ks1/kms/xks/v1/keys/f:o/metadata")]
    [InlineData("/ks1/kms/xks/v1/keys/f+o/metadata")]
    [InlineData("/ks1/kms/xks/v1/keys/f%20o/metadata")]
    public async Task Curl_SigningAKeyIdOutsideTheSpecsCharacters_IsAccepted_SoTheEdgeCanAnswerKeyNotFound(string path)
    {
        // curl signs the path as it sends it, without AWS's second encoding (regression: these were 401s).
        (int status, string body) = await Curl("--http2", path, "aws:amz:us-east-1:kms-xks-proxy", CurlServerFixture.Ks1AccessKeyId, CurlServerFixture.Ks1Secret);

        Assert.Equal((200, "ok ks1 HTTP/2"), (status, body));
    }

    [Fact]
    public async Task Curl_SigningAPathWithAnEncodedPercent_IsRefused_BecauseItsAsSentFormIsAnotherPathsEncodedForm()
    {
        (int status, string body) = await Curl("--http2", "/ks1/kms/xks/v1/keys/a%2541/metadata", "aws:amz:us-east-1:kms-xks-proxy", CurlServerFixture.Ks1AccessKeyId, CurlServerFixture.Ks1Secret);

        Assert.Equal((401, nameof(SigV4Failure.SignatureMismatch)), (status, body));
    }

    [Theory]
    [InlineData("--http1.1")]
    [InlineData("--http2")]
    public async Task Curl_WithTheWrongSecret_IsRefusedWithSignatureMismatch(string httpVersion)
    {
        (int status, string body) = await Curl(httpVersion, "/ks1/kms/xks/v1/keys/foo/encrypt", "aws:amz:us-east-1:kms-xks-proxy", CurlServerFixture.Ks1AccessKeyId, CurlServerFixture.Ks2Secret);

        Assert.Equal((401, nameof(SigV4Failure.SignatureMismatch)), (status, body));
    }

    [Fact]
    public async Task Curl_SigningForAnotherService_IsRefusedWithWrongService()
    {
        (int status, string body) = await Curl("--http2", "/ks1/kms/xks/v1/keys/foo/encrypt", "aws:amz:us-east-1:kms", CurlServerFixture.Ks1AccessKeyId, CurlServerFixture.Ks1Secret);

        Assert.Equal((401, nameof(SigV4Failure.WrongService)), (status, body));
    }

    [Fact]
    public async Task Curl_WithAnUnknownAccessKeyId_IsRefusedWithUnknownAccessKeyId()
    {
        (int status, string body) = await Curl("--http1.1", "/ks1/kms/xks/v1/health", "aws:amz:us-east-1:kms-xks-proxy", "AAAAAAAAAAAAAAAAAAAAAAAAAA", CurlServerFixture.Ks1Secret);

        Assert.Equal((401, nameof(SigV4Failure.UnknownAccessKeyId)), (status, body));
    }

    [Fact]
    public async Task Curl_WithAnotherKeystoresCredential_VerifiesAndReportsThatKeystore()
    {
        // SigV4 is valid; the edge then refuses it on ks1's path because the credential belongs to ks2.
        (int status, string body) = await Curl("--http2", "/ks1/kms/xks/v1/keys/foo/encrypt", "aws:amz:eu-west-1:kms-xks-proxy", CurlServerFixture.Ks2AccessKeyId, CurlServerFixture.Ks2Secret);

        Assert.Equal((200, "ok ks2 HTTP/2"), (status, body));
    }

    private async Task<(int Status, string Body)> Curl(string httpVersion, string path, string sigv4, string accessKeyId, string secret)
    {
        string bodyFile = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(bodyFile, EncryptBody);
            var start = new ProcessStartInfo("curl")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (string argument in new[]
            {
                "-s", "-k", httpVersion, "--max-time", "20",
                "--aws-sigv4", sigv4, "--user", accessKeyId + ":" + secret,
                "-X", "POST", "-H", "Content-Type: application/json", "--data-binary", "@" + bodyFile,
                "-w", "\n%{http_code}", server.BaseAddress + path,
            })
            {
                start.ArgumentList.Add(argument);
            }

            using Process curl = Process.Start(start)!;
            Task<string> stdout = curl.StandardOutput.ReadToEndAsync();
            Task<string> stderr = curl.StandardError.ReadToEndAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await curl.WaitForExitAsync(timeout.Token);
            string output = await stdout;
            Assert.True(curl.ExitCode == 0, $"curl exited {curl.ExitCode}: {await stderr}");
            int newline = output.LastIndexOf('\n');
            return (int.Parse(output[(newline + 1)..], System.Globalization.CultureInfo.InvariantCulture), output[..newline]);
        }
        finally
        {
            File.Delete(bodyFile);
        }
    }
}
