using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using XksGrpc.Deploy.Tests.Lab;

namespace XksGrpc.Deploy.Tests.Conformance;

/// <summary>
/// Issue 5: no secret, plaintext, key material or AAD in any log. A lab runs with every logging category
/// at Trace (ASP.NET Core, Kestrel, YARP, gRPC, HttpClient included); all four APIs and their error paths
/// are driven with distinctive plaintexts and AADs; then the lab's output, its logs, the audit log and every
/// file of the state directory but the secret files themselves are searched for every SigV4 secret (and the
/// signing keys derived from them), the HSM PINs, every plaintext and AAD (raw, Base64, hex) and every
/// Authorization signature sent.
/// </summary>
[Collection(LabCollection.Name)]
public sealed partial class SecretLeakTests
{
    private static readonly Dictionary<string, string> TraceEverything = new()
    {
        ["Logging__LogLevel__Default"] = "Trace",
        ["Logging__LogLevel__Microsoft"] = "Trace",
        ["Logging__LogLevel__Microsoft.AspNetCore"] = "Trace",
        ["Logging__LogLevel__Microsoft.AspNetCore.Server.Kestrel"] = "Trace",
        ["Logging__LogLevel__Microsoft.AspNetCore.HttpLogging"] = "Trace",
        ["Logging__LogLevel__Yarp"] = "Trace",
        ["Logging__LogLevel__Grpc"] = "Trace",
        ["Logging__LogLevel__System.Net.Http"] = "Trace",
        ["Logging__LogLevel__XksGrpc"] = "Trace",
        ["Logging__Console__IncludeScopes"] = "true",
    };

    [Fact]
    public async Task AFullRunAtTraceLevel_LeaksNoSecretPlaintextAadOrSignature()
    {
        var state = LabProcess.NewStateDirectory();
        try
        {
            var secrets = new List<(string What, string Value)>();
            string output, run;
            await using (var lab = await LabProcess.StartAsync(state, LabProcess.FreePort(), mtls: false, TraceEverything))
            {
                run = await DriveEveryApi(lab, secrets);
                Assert.Equal(0, await lab.StopAsync("TERM"));
                output = lab.Output;
            }

            foreach (var console in Directory.GetFiles(Path.Combine(state, "kms"), "*.json"))
            {
                var credential = KmsConsoleFile.Load(console);
                secrets.Add(($"SigV4 secret of {credential.Name}", credential.Secret));
                foreach (var day in new[] { DateTime.UtcNow.AddMinutes(-10), DateTime.UtcNow })
                {
                    var key = SigningKey(credential.Secret, day.ToString("yyyyMMdd", System.Globalization.CultureInfo.InvariantCulture));
                    secrets.Add(($"signing key of {credential.Name}", Convert.ToHexStringLower(key)));
                    secrets.Add(($"signing key of {credential.Name}", Convert.ToBase64String(key)));
                }
            }

            secrets.Add(("HSM PIN", File.ReadAllText(Path.Combine(state, "secrets/pin")).Trim()));
            secrets.Add(("HSM SO PIN", File.ReadAllText(Path.Combine(state, "secrets/so-pin")).Trim()));

            // The lab prints a ready-to-paste curl command with ks1-1's credential on purpose (README).
            var printed = output.Split('\n').Where(l => !l.StartsWith("curl --aws-sigv4 ", StringComparison.Ordinal));
            var places = new List<(string Name, byte[] Content)> { ("lab.sh output", Encoding.UTF8.GetBytes(string.Join('\n', printed))) };
            foreach (var file in Directory.EnumerateFiles(state, "*", SearchOption.AllDirectories))
            {
                var relative = Path.GetRelativePath(state, file);
                if (relative.StartsWith("secrets/", StringComparison.Ordinal) || relative.StartsWith("kms/", StringComparison.Ordinal))
                {
                    continue; // the secret files themselves
                }

                places.Add((relative, await File.ReadAllBytesAsync(file)));
            }

            // The logs must be the verbose ones, with the requests in them, or the search proves nothing.
            var edgeLog = Encoding.UTF8.GetString(places.Single(p => p.Name == "logs/edge.log").Content);
            var brokerLog = Encoding.UTF8.GetString(places.Single(p => p.Name == "logs/broker.log").Content);
            Assert.Matches("\"LogLevel\":\"Trace\",\"Category\":\"Microsoft\\.AspNetCore", edgeLog);
            Assert.Matches("\"LogLevel\":\"Trace\",\"Category\":\"Microsoft\\.AspNetCore", brokerLog);
            Assert.Matches("\"LogLevel\":\"Debug\",\"Category\":\"Yarp", edgeLog);
            Assert.Contains("leak-run-", edgeLog, StringComparison.Ordinal);
            Assert.Contains("leak-run-", Encoding.UTF8.GetString(places.Single(p => p.Name == "logs/audit.log").Content), StringComparison.Ordinal);
            Assert.DoesNotContain("Microsoft.AspNetCore.HttpLogging", edgeLog + brokerLog, StringComparison.Ordinal);
            Assert.True(secrets.Count(s => s.What.StartsWith("signature", StringComparison.Ordinal)) >= 20);

            IEnumerable<string> FoundIn(string form)
            {
                var needle = Encoding.UTF8.GetBytes(form);
                return places.Where(p => p.Content.AsSpan().IndexOf(needle) >= 0).Select(p => p.Name);
            }

            // Control: the search finds what is logged (the kmsRequestId of the run, in the edge log and the audit log).
            Assert.Contains("logs/edge.log", FoundIn(run));
            Assert.Contains("logs/audit.log", FoundIn(run));

            var leaks = new List<string>();
            foreach (var (what, value) in secrets.Where(s => s.Value.Length >= 8).Distinct())
            {
                foreach (var form in Forms(value))
                {
                    leaks.AddRange(FoundIn(form).Select(place => $"{what} ({form[..Math.Min(16, form.Length)]}...) in {place}"));
                }
            }

            Assert.True(leaks.Count == 0, string.Join('\n', leaks.Distinct()));
        }
        finally
        {
            LabProcess.DeleteState(state);
        }
    }

    [Fact]
    public void NoProgramEnablesHttpLogging_SoRequestBodiesCannotBeLogged()
    {
        var offenders = new List<string>();
        foreach (var file in Directory.EnumerateFiles(Path.Combine(RepositoryRoot.FullPath, "src"), "*", SearchOption.AllDirectories)
                     .Where(f => !f.Contains("/bin/", StringComparison.Ordinal) && !f.Contains("/obj/", StringComparison.Ordinal))
                     .Concat(Directory.EnumerateFiles(Path.Combine(RepositoryRoot.FullPath, "deploy"), "*", SearchOption.AllDirectories))
                     .Append(Path.Combine(RepositoryRoot.FullPath, "scripts/lab.sh")))
        {
            var text = File.ReadAllText(file);
            if (HttpLogging().IsMatch(text))
            {
                offenders.Add(Path.GetRelativePath(RepositoryRoot.FullPath, file));
            }
        }

        Assert.Empty(offenders);
    }

    [GeneratedRegex(@"UseHttpLogging|AddHttpLogging|UseW3CLogging|AddW3CLogging|HttpLoggingFields|LogRequestBody|HttpLogging\b", RegexOptions.IgnoreCase)]
    private static partial Regex HttpLogging();

    /// <summary>Drives all four APIs with distinctive data, ok and failing; records every secret-like value sent.</summary>
    /// <returns>The kmsRequestId prefix of the run (logged, unlike everything in <paramref name="secrets"/>).</returns>
    private static async Task<string> DriveEveryApi(LabProcess lab, List<(string What, string Value)> secrets)
    {
        var run = "leak-run-" + Guid.NewGuid().ToString("N")[..8];
        foreach (var console in new[] { "ks1-1", "ks1-2", "ks2-1" })
        {
            var credential = lab.ConsoleFile(console);
            var plaintext = Encoding.ASCII.GetBytes($"XKSLEAKPT{console}{Guid.NewGuid():N}-plaintext-marker");
            var aad = Encoding.ASCII.GetBytes($"XKSLEAKAAD{console}{Guid.NewGuid():N}-aad-marker");
            var other = Encoding.ASCII.GetBytes($"XKSLEAKAAD2{console}{Guid.NewGuid():N}-aad-marker");
            var big = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat($"XKSLEAKBIG{console}{Guid.NewGuid():N}", 200)));
            foreach (var (what, value) in new[] { ("plaintext", plaintext), ("AAD", aad), ("other AAD", other), ("oversize plaintext", big[..64]) })
            {
                secrets.Add((what, Encoding.ASCII.GetString(value)));
                secrets.Add((what + " (Base64)", Convert.ToBase64String(value)));
                secrets.Add((what + " (hex)", Convert.ToHexStringLower(value)));
            }

            var b64 = Convert.ToBase64String(plaintext);
            var aadB64 = Convert.ToBase64String(aad);
            var invalid = "XKSLEAKINVALID" + Guid.NewGuid().ToString("N") + "!*";
            secrets.Add(("invalid plaintext", invalid));
            string Md(string op) => $"\"requestMetadata\":{{\"awsPrincipalArn\":\"arn:aws:iam::123456789012:user/Alice\",\"kmsKeyArn\":\"arn:aws:kms:us-east-1:123456789012:key/k\",\"kmsOperation\":\"{op}\",\"kmsRequestId\":\"{run}-{console}\"}}";
            string Encrypt(string pt, string? a) => "{" + Md("Encrypt") + $",\"plaintext\":\"{pt}\"" + (a is null ? "" : $",\"additionalAuthenticatedData\":\"{a}\"") + ",\"encryptionAlgorithm\":\"AES_GCM\",\"ciphertextDataIntegrityValueAlgorithm\":\"SHA_256\"}";

            var path = credential.UriPath;
            await Send(lab, credential, $"{path}/health", "{\"requestMetadata\":{\"kmsOperation\":\"KmsHealthCheck\",\"kmsRequestId\":\"" + run + "\"}}", secrets);
            await Send(lab, credential, $"{path}/keys/foo/metadata", "{" + Md("DescribeKey") + "}", secrets);
            var encrypted = await Send(lab, credential, $"{path}/keys/foo/encrypt", Encrypt(b64, aadB64), secrets);
            Assert.True(encrypted.Status == 200, encrypted.Body);
            var fields = string.Join(",", Regex.Matches(encrypted.Body, "\"(ciphertext|ciphertextMetadata|initializationVector|authenticationTag)\":\"[^\"]*\"").Select(m => m.Value));
            string Decrypt(string? a, string f) => "{" + Md("Decrypt") + "," + f + (a is null ? "" : $",\"additionalAuthenticatedData\":\"{a}\"") + ",\"encryptionAlgorithm\":\"AES_GCM\"}";
            var decrypted = await Send(lab, credential, $"{path}/keys/foo/decrypt", Decrypt(aadB64, fields), secrets);
            Assert.Contains(b64, decrypted.Body, StringComparison.Ordinal);

            // Error paths, each carrying the plaintext or AAD.
            await Send(lab, credential, $"{path}/keys/foo/decrypt", Decrypt(Convert.ToBase64String(other), fields), secrets);
            await Send(lab, credential, $"{path}/keys/foo/decrypt", Decrypt(null, fields), secrets);
            await Send(lab, credential, $"{path}/keys/foo/decrypt", Decrypt(aadB64, Regex.Replace(fields, "\"authenticationTag\":\"[^\"]*\"", "\"authenticationTag\":\"AAAAAAAAAAAAAAAAAAAAAA==\"")), secrets);
            await Send(lab, credential, $"{path}/keys/decrypt_only_key/encrypt", Encrypt(b64, aadB64), secrets);
            await Send(lab, credential, $"{path}/keys/encrypt_only_key/encrypt", Encrypt(b64, aadB64), secrets); // CDIV needs a decrypt
            await Send(lab, credential, $"{path}/keys/impotent_key/decrypt", Decrypt(aadB64, fields), secrets);
            await Send(lab, credential, $"{path}/keys/disabled_key/encrypt", Encrypt(b64, aadB64), secrets);
            await Send(lab, credential, $"{path}/keys/non_existing_key/encrypt", Encrypt(b64, aadB64), secrets);
            await Send(lab, credential, $"{path}/keys/f%C3%A9/encrypt", Encrypt(b64, aadB64), secrets);
            await Send(lab, credential, $"{path}/keys/foo/encrypt", Encrypt(invalid, aadB64), secrets);
            await Send(lab, credential, $"{path}/keys/foo/encrypt", Encrypt(Convert.ToBase64String(big), aadB64), secrets);
            await Send(lab, credential, $"{path}/keys/foo/encrypt", Encrypt(b64, aadB64)[..^20], secrets); // malformed JSON
            await Send(lab, credential, $"{path}/keys/foo/encrypt", Encrypt(b64, aadB64).Replace("AES_GCM", "AES_CBC", StringComparison.Ordinal), secrets);
            await Send(lab, credential, $"{path}/keys/foo/encrypt", Encrypt(b64, aadB64), secrets, secret: credential.Secret[..^4] + "AAA=");
            await Send(lab, credential, $"/no/such/prefix/kms/xks/v1/keys/foo/encrypt", Encrypt(b64, aadB64), secrets);
            var otherKeystore = console == "ks2-1" ? "/ks1/kms/xks/v1" : "/ks2/kms/xks/v1";
            await Send(lab, credential, $"{otherKeystore}/keys/foo/encrypt", Encrypt(b64, aadB64), secrets);
        }

        return run;
    }

    private sealed record Reply(int Status, string Body);

    /// <summary>curl --aws-sigv4 -v; the signature it sent is added to <paramref name="secrets"/>.</summary>
    private static async Task<Reply> Send(LabProcess lab, KmsConsoleFile credential, string path, string json, List<(string What, string Value)> secrets, string? secret = null)
    {
        var body = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(body, json);
            var args = new List<string>
            {
                "-s", "-v", "--max-time", "15", "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy",
                "--user", $"{credential.AccessKeyId}:{secret ?? credential.Secret}",
                "-H", "Content-Type: application/json", "--data-binary", "@" + body, "-w", "\n%{http_code}",
            };
            args.AddRange(XksCurl.TlsArguments(lab));
            args.Add($"https://localhost:{lab.Port}{path}");
            var result = await Shell.RunAsync("curl", [.. args]);
            var signature = Regex.Match(result.StdErr, "Signature=([0-9a-f]{64})");
            Assert.True(signature.Success, result.StdErr);
            secrets.Add(("signature of a request", signature.Groups[1].Value));
            var split = result.StdOut.LastIndexOf('\n');
            return new Reply(int.Parse(result.StdOut[(split + 1)..], System.Globalization.CultureInfo.InvariantCulture), result.StdOut[..split]);
        }
        finally
        {
            File.Delete(body);
        }
    }

    /// <summary>A value as it could appear in a log: as it is, hex upper case, JSON-escaped.</summary>
    private static IEnumerable<string> Forms(string value)
    {
        yield return value;
        if (value.All(Uri.IsHexDigit))
        {
            yield return value.ToUpperInvariant();
        }

        var escaped = value.Replace("+", "\\u002B", StringComparison.Ordinal).Replace("/", "\\u002F", StringComparison.Ordinal).Replace("=", "\\u003D", StringComparison.Ordinal);
        if (escaped != value)
        {
            yield return escaped;
        }
    }

    /// <summary>SigV4's kSigning for us-east-1/kms-xks-proxy on <paramref name="day"/>.</summary>
    private static byte[] SigningKey(string secret, string day)
    {
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secret), Encoding.UTF8.GetBytes(day));
        key = HMACSHA256.HashData(key, "us-east-1"u8);
        key = HMACSHA256.HashData(key, "kms-xks-proxy"u8);
        return HMACSHA256.HashData(key, "aws4_request"u8);
    }
}
