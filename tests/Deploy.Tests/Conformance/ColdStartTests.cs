using System.Globalization;
using XksGrpc.Deploy.Tests.Lab;

namespace XksGrpc.Deploy.Tests.Conformance;

/// <summary>
/// Cold start: once the lab prints "ready", the first request of every kind, error replies included,
/// answers at once with its own status. (The first KeyNotFoundException after a broker start once took
/// longer than the edge's 200 ms broker deadline and came back as a 503; lab.sh's warm-up now covers
/// every error path.)
/// </summary>
[Collection(LabCollection.Name)]
public sealed class ColdStartTests
{
    /// <summary>From the request's first byte to the response's last, TLS handshake excluded.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromMilliseconds(250);

    [Fact]
    public async Task TheFirstRequestOfEachKind_AfterReady_AnswersWithinTheBound_WithItsOwnStatus()
    {
        var state = LabProcess.NewStateDirectory();
        try
        {
            await using var lab = await LabProcess.StartAsync(state, LabProcess.FreePort());
            var credential = lab.ConsoleFile("ks1-1");
            var md = "\"requestMetadata\":{\"awsPrincipalArn\":\"arn:aws:iam::123456789012:user/Alice\",\"kmsKeyArn\":\"arn:aws:kms:us-east-1:123456789012:key/k\",\"kmsOperation\":\"Encrypt\",\"kmsRequestId\":\"cold\"}";
            var encrypt = "{" + md + ",\"plaintext\":\"SGVsbG8=\",\"encryptionAlgorithm\":\"AES_GCM\"}";
            var bogusDecrypt = "{" + md + ",\"ciphertext\":\"AAAA\",\"initializationVector\":\"AAAAAAAAAAAAAAAA\",\"authenticationTag\":\"AAAAAAAAAAAAAAAAAAAAAA==\",\"encryptionAlgorithm\":\"AES_GCM\"}";

            // Error paths first: they are the ones a warm-up of the happy paths leaves cold.
            var kinds = new (string Name, string Path, string Body, string[] Extra, int Status)[]
            {
                ("KeyNotFoundException", "keys/non_existing_key/metadata", "{" + md + "}", [], 404),
                ("ValidationException", "keys/foo/encrypt", "{\"requestMetadata\":{}}", [], 400),
                ("InvalidCiphertextException", "keys/foo/decrypt", bogusDecrypt, [], 400),
                ("InvalidKeyUsageException", "keys/decrypt_only_key/encrypt", encrypt, [], 400),
                ("InvalidStateException", "keys/disabled_key/encrypt", encrypt, [], 400),
                ("InvalidUriPathException", "keys/foo/sign", encrypt, [], 404),
                ("405", "keys/foo/encrypt", "", ["-X", "GET"], 405),
                ("AuthenticationFailedException", "health", "{}", ["--user", credential.AccessKeyId + ":wrong"], 401),
                ("GetHealthStatus", "health", "{\"requestMetadata\":{\"kmsOperation\":\"KmsHealthCheck\",\"kmsRequestId\":\"cold\"}}", [], 200),
                ("GetKeyMetadata", "keys/foo/metadata", "{" + md + "}", [], 200),
                ("Encrypt", "keys/foo/encrypt", encrypt, [], 200),
            };

            var report = new List<string>();
            foreach (var kind in kinds)
            {
                var (status, elapsed, body) = await Timed(lab, credential, kind.Path, kind.Body, kind.Extra);
                report.Add($"{kind.Name}: {status} in {elapsed.TotalMilliseconds:F0} ms {body}");
                Assert.True(status == kind.Status && elapsed < Bound, string.Join('\n', report));
                if (kind.Name == "Encrypt")
                {
                    var encrypted = System.Text.Json.JsonDocument.Parse(body).RootElement;
                    var decrypt = "{" + md.Replace("Encrypt", "Decrypt", StringComparison.Ordinal) + string.Concat(
                        new[] { "ciphertext", "ciphertextMetadata", "initializationVector", "authenticationTag" }
                            .Where(f => encrypted.TryGetProperty(f, out _))
                            .Select(f => $",\"{f}\":\"{encrypted.GetProperty(f).GetString()}\"")) + ",\"encryptionAlgorithm\":\"AES_GCM\"}";
                    (status, elapsed, body) = await Timed(lab, credential, "keys/foo/decrypt", decrypt, []);
                    report.Add($"Decrypt: {status} in {elapsed.TotalMilliseconds:F0} ms");
                    Assert.True(status == 200 && elapsed < Bound, string.Join('\n', report));
                }
            }
        }
        finally
        {
            LabProcess.DeleteState(state);
        }
    }

    private static async Task<(int Status, TimeSpan Elapsed, string Body)> Timed(LabProcess lab, KmsConsoleFile credential, string path, string body, string[] extra)
    {
        var args = new List<string>
        {
            "-s", "--max-time", "10", "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy",
            "--user", $"{credential.AccessKeyId}:{credential.Secret}",
            "-H", "Content-Type: application/json", "--data-binary", body,
            "-w", "\n%{http_code} %{time_appconnect} %{time_total}",
        };
        args.AddRange(XksCurl.TlsArguments(lab));
        args.AddRange(extra);
        args.Add($"https://localhost:{lab.Port}{credential.UriPath}/{path}");
        var result = await Shell.RunAsync("curl", [.. args]);
        var split = result.StdOut.LastIndexOf('\n');
        var parts = result.StdOut[(split + 1)..].Split(' ');
        var handshake = double.Parse(parts[1], CultureInfo.InvariantCulture);
        var total = double.Parse(parts[2], CultureInfo.InvariantCulture);
        return (int.Parse(parts[0], CultureInfo.InvariantCulture), TimeSpan.FromSeconds(total - handshake), result.StdOut[..split]);
    }
}
