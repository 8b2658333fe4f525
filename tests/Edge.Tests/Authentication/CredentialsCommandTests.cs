using System.Text.Json;
using Microsoft.Extensions.Time.Testing;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary><c>XksGrpc.Edge credentials new</c>.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes are POSIX
public sealed class CredentialsCommandTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xks-credentials-cli-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void New_PrintsTheKmsConsoleFile_AndWritesNothing()
    {
        (int exit, string stdout, string stderr) = Run("credentials", "new", "--uri-path", "/ks1/kms/xks/v1");

        Assert.Equal(0, exit);
        using JsonDocument json = JsonDocument.Parse(stdout);
        Assert.Equal("/ks1/kms/xks/v1", json.RootElement.GetProperty("XksProxyUriPath").GetString());
        string secret = json.RootElement.GetProperty("XksProxyAuthenticationCredential").GetProperty("RawSecretAccessKey").GetString()!;
        Assert.DoesNotContain(secret, stderr, StringComparison.Ordinal);
        Assert.Contains("No file written", stderr, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(_directory));
    }

    [Fact]
    public void New_WithASecretFile_WritesTheSecretWithMode0600_ThatTheStoreAccepts()
    {
        string file = Path.Combine(_directory, "ks1-new.secret");

        (int exit, string stdout, string stderr) = Run("new", "--uri-path", "/ks1/kms/xks/v1", "--secret-file", file);

        Assert.Equal(0, exit);
        using JsonDocument json = JsonDocument.Parse(stdout);
        JsonElement credential = json.RootElement.GetProperty("XksProxyAuthenticationCredential");
        string accessKeyId = credential.GetProperty("AccessKeyId").GetString()!;
        string secret = credential.GetProperty("RawSecretAccessKey").GetString()!;
        Assert.Equal(secret + "\n", File.ReadAllText(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Contains($"\"AccessKeyId\": \"{accessKeyId}\", \"SecretFile\": \"{file}\"", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, stderr, StringComparison.Ordinal);
        Assert.Equal([file], Directory.EnumerateFileSystemEntries(_directory));

        var store = new CredentialStore(new FakeTimeProvider());
        Assert.True(store.Apply([new CredentialSpec("ks1", accessKeyId, file, null)]).Succeeded);
        Assert.True(store.TryGet(accessKeyId, out SigV4Credential? loaded));
        Assert.Equal(secret, loaded.SecretAccessKey);
    }

    [Fact]
    public void New_RefusesToOverwriteASecretFile_UnlessForced()
    {
        string file = Path.Combine(_directory, "existing.secret");
        File.WriteAllText(file, "old");

        (int refused, string refusedOut, string refusedErr) = Run("new", "--uri-path", "/kms/xks/v1", "--secret-file", file);
        Assert.Equal(1, refused);
        Assert.Empty(refusedOut);
        Assert.Contains("already exists", refusedErr, StringComparison.Ordinal);
        Assert.Equal("old", File.ReadAllText(file));

        (int forced, string forcedOut, _) = Run("new", "--uri-path", "/kms/xks/v1", "--secret-file", file, "--force");
        Assert.Equal(0, forced);
        using JsonDocument json = JsonDocument.Parse(forcedOut);
        Assert.Equal(json.RootElement.GetProperty("XksProxyAuthenticationCredential").GetProperty("RawSecretAccessKey").GetString() + "\n", File.ReadAllText(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
    }

    [Theory]
    [InlineData(2, "new")]
    [InlineData(2, "new", "--uri-path")]
    [InlineData(2, "new", "--uri-path", "/ks1/kms/xks/v2")]
    [InlineData(2, "new", "--uri-path", "/kms/xks/v1", "--bogus")]
    [InlineData(2, "rotate")]
    [InlineData(2)]
    public void New_WithBadArguments_ExitsWithAUsageErrorAndPrintsNoCredential(int expectedExit, params string[] args)
    {
        (int exit, string stdout, string stderr) = Run(args);

        Assert.Equal(expectedExit, exit);
        Assert.Empty(stdout);
        Assert.NotEmpty(stderr);
    }

    [Fact]
    public void New_WithASecretFileInAMissingDirectory_FailsWithoutPrintingACredential()
    {
        (int exit, string stdout, string stderr) = Run("new", "--uri-path", "/kms/xks/v1", "--secret-file", Path.Combine(_directory, "nope", "x.secret"));

        Assert.Equal(1, exit);
        Assert.Empty(stdout);
        Assert.Contains("does not exist", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_PrintsUsage()
    {
        (int exit, string stdout, _) = Run("credentials", "--help");

        Assert.Equal(0, exit);
        Assert.Contains("credentials new --uri-path", stdout, StringComparison.Ordinal);
    }

    private static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        int exit = CredentialsCommand.Run(args, stdout, stderr);
        return (exit, stdout.ToString(), stderr.ToString());
    }
}
