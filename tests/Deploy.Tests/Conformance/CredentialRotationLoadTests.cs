using System.Globalization;
using XksGrpc.Deploy.Tests.Lab;

namespace XksGrpc.Deploy.Tests.Conformance;

/// <summary>
/// Spec, "SigV4 credentials rotation": while KMS moves from one credential to the next, both are valid.
/// The lab's ks1 has two; a load signed with both at once (curl --parallel, one process per credential)
/// must see no failure at all.
/// </summary>
[Collection(LabCollection.Name)]
public sealed class CredentialRotationLoadTests(LabFixture fixture) : IClassFixture<LabFixture>
{
    private const int RequestsPerCredential = 300;

    [Fact]
    public async Task LoadSignedWithBothCredentialsOfKs1_AtOnce_HasZeroFailures()
    {
        var lab = fixture.Lab;
        var credentials = new[] { lab.ConsoleFile("ks1-1"), lab.ConsoleFile("ks1-2") };
        Assert.All(credentials, c => Assert.Equal("/ks1/kms/xks/v1", c.UriPath));
        Assert.NotEqual(credentials[0].AccessKeyId, credentials[1].AccessKeyId);

        var runs = await Task.WhenAll(
            credentials.SelectMany(c => new[] { Load(lab, c, "keys/foo/encrypt"), Load(lab, c, "keys/foo/metadata") }));

        foreach (var (credential, operation, codes) in runs)
        {
            Assert.Equal(RequestsPerCredential / 2, codes.Count);
            var failures = codes.Where(c => c != "200").GroupBy(c => c).Select(g => $"{g.Key} x{g.Count()}").ToList();
            Assert.True(failures.Count == 0, $"{credential} {operation}: {string.Join(", ", failures)}");
        }
    }

    private static async Task<(string Credential, string Operation, List<string> Codes)> Load(LabProcess lab, KmsConsoleFile credential, string operation)
    {
        var url = $"https://localhost:{lab.Port}{credential.UriPath}/{operation}";
        var args = new List<string>
        {
            "-s", "--no-progress-meter", "--parallel", "--parallel-max", "8", "--max-time", "30",
            "--aws-sigv4", "aws:amz:us-east-1:kms-xks-proxy", "--user", $"{credential.AccessKeyId}:{credential.Secret}",
            "-H", "Content-Type: application/json",
            "--data-binary", """{"requestMetadata":{"awsPrincipalArn":"arn:aws:iam::123456789012:user/Alice","kmsKeyArn":"arn:aws:kms:us-east-1:123456789012:key/k","kmsOperation":"Encrypt","kmsRequestId":"rotation-load"},"plaintext":"SGVsbG8gV29ybGQh","encryptionAlgorithm":"AES_GCM"}""",
            "-w", "%{http_code}\\n",
        };
        args.AddRange(XksCurl.TlsArguments(lab));
        for (var i = 0; i < RequestsPerCredential / 2; i++)
        {
            args.AddRange(["-o", "/dev/null", url]);
        }

        var result = await Shell.RunAsync("curl", args, environment: null, TimeSpan.FromMinutes(5));
        var codes = result.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();
        return (credential.Name, operation + " (curl exit " + result.ExitCode.ToString(CultureInfo.InvariantCulture) + ")", codes);
    }
}
