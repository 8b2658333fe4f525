using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Time.Testing;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary>Loading, validating, rotating and aging SigV4 credentials (spec "SigV4 credentials rotation").</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes are POSIX
public sealed class CredentialStoreTests : IDisposable
{
    private const string AkidA = "AAAAAAAAAAAAAAAAAAAAAAAAAA";
    private const string AkidB = "BBBBBBBBBBBBBBBBBBBBBBBBB2";
    private const string AkidC = "CCCCCCCCCCCCCCCCCCCCCCCCC7";
    private const string SecretA = "VU6W2byoiBrhDqNGbx703oL0syCAmhlQgwNUT123456";
    private const string SecretB = "FYtE5EFA5FT0mCc3DrGUe2sti527BitkQ0Zr9MO9fvE=";

    private readonly string _directory = Directory.CreateTempSubdirectory("xks-credentials-").FullName;
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 3, 14, 9, 0, 0, TimeSpan.Zero));
    private readonly List<string> _environmentVariables = [];

    public void Dispose()
    {
        foreach (string variable in _environmentVariables)
        {
            Environment.SetEnvironmentVariable(variable, null);
        }

        Directory.Delete(_directory, recursive: true);
    }

    [Fact]
    public void Apply_WithValidFileAndEnvironmentSecrets_MakesEachCredentialFindableByItsAccessKeyId()
    {
        var store = new CredentialStore(_time);

        CredentialApplyResult result = store.Apply([
            new CredentialSpec("ks1", AkidA, SecretFile(SecretA + "\n"), null),
            new CredentialSpec("ks1", AkidB, null, Env(SecretB)),
        ]);

        Assert.True(result.Succeeded, string.Join(" ", result.Errors));
        Assert.Equal([AkidA, AkidB], result.Added.Order());
        Assert.True(store.TryGet(AkidA, out SigV4Credential? a));
        Assert.Equal(("ks1", SecretA), (a.Keystore, a.SecretAccessKey));
        Assert.True(store.TryGet(AkidB.AsSpan(), out SigV4Credential? b));
        Assert.Equal(SecretB, b.SecretAccessKey);
        Assert.False(store.TryGet(AkidC, out _));
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("\r\n")]
    [InlineData("\n\n")]
    [InlineData("")]
    public void Apply_TrimsTrailingNewlinesFromASecretFile(string ending)
    {
        var store = new CredentialStore(_time);

        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, SecretFile(SecretA + ending), null)]).Succeeded);
        Assert.True(store.TryGet(AkidA, out SigV4Credential? credential));
        Assert.Equal(SecretA, credential.SecretAccessKey);
    }

    [Theory]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.OtherWrite)]
    [InlineData(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead)]
    public void Apply_RefusesASecretFileOpenToGroupOrOthers_NamingTheCredentialAndTheFile(UnixFileMode mode)
    {
        var store = new CredentialStore(_time);
        string file = SecretFile(SecretA, mode);

        CredentialApplyResult result = store.Apply([new CredentialSpec("ks1", AkidA, file, null)]);

        string error = Assert.Single(result.Errors);
        Assert.Contains("'ks1'", error, StringComparison.Ordinal);
        Assert.Contains(AkidA, error, StringComparison.Ordinal);
        Assert.Contains(file, error, StringComparison.Ordinal);
        Assert.Contains("chmod 600", error, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretA, error, StringComparison.Ordinal);
        Assert.Equal(0, store.Count);
    }

    [Fact]
    public void Apply_AcceptsAnOwnerOnlyReadableSecretFile()
    {
        var store = new CredentialStore(_time);

        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, SecretFile(SecretA, UnixFileMode.UserRead), null)]).Succeeded);
    }

    [Fact]
    public void Apply_WithManyProblems_ReportsEveryOne_WithoutASecret_AndKeepsThePreviousSet()
    {
        var store = new CredentialStore(_time);
        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, SecretFile(SecretA), null)]).Succeeded);
        string missing = Path.Combine(_directory, "missing.secret");
        string shortSecretValue = "tooShortSecret";

        CredentialApplyResult result = store.Apply([
            new CredentialSpec("ks1", AkidA, SecretFile(SecretA), null),
            new CredentialSpec("ks2", AkidA, SecretFile(SecretB), null),                        // duplicate across keystores
            new CredentialSpec("ks2", "lowercase-akid-with-dashes", SecretFile(SecretB), null),   // bad id
            new CredentialSpec("ks2", SecretB, SecretFile(SecretB), null),                       // a secret pasted as the id
            new CredentialSpec("ks2", AkidB, missing, null),                                     // no file
            new CredentialSpec("ks2", AkidC, SecretFile(shortSecretValue), null),                // bad secret
            new CredentialSpec("ks3", "DDDDDDDDDDDDDDDDDDDDDDDDDD", null, "XKS_TEST_UNSET_" + Guid.NewGuid().ToString("N")),
            new CredentialSpec("ks3", "EEEEEEEEEEEEEEEEEEEEEEEEEE", null, null),                 // no source
            new CredentialSpec("ks3", "FFFFFFFFFFFFFFFFFFFFFFFFFF", SecretFile(SecretA), Env(SecretA)), // two sources
            new CredentialSpec("ks3", "GGGGGGGGGGGGGGGGGGGGGGGGGG", null, Env(SecretA + " ")),   // invalid character
        ]);

        Assert.False(result.Succeeded);
        Assert.Equal(9, result.Errors.Count);
        string all = string.Join("\n", result.Errors);
        Assert.Contains($"Access key id '{AkidA}' is configured more than once (keystores 'ks1' and 'ks2')", all, StringComparison.Ordinal);
        Assert.Contains("Keystore 'ks2' credential #3: AccessKeyId must be 20-30 characters of A-Z and 2-7", all, StringComparison.Ordinal);
        Assert.Contains("Keystore 'ks2' credential #4", all, StringComparison.Ordinal);
        Assert.Contains($"Keystore 'ks2' credential '{AkidB}': secret file '{missing}' does not exist.", all, StringComparison.Ordinal);
        Assert.Contains($"Keystore 'ks2' credential '{AkidC}': the secret in file", all, StringComparison.Ordinal);
        Assert.Contains("is not set", all, StringComparison.Ordinal);
        Assert.Contains("set exactly one of SecretFile and SecretEnv", all, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretA, all, StringComparison.Ordinal);
        Assert.DoesNotContain(SecretB, all, StringComparison.Ordinal);
        Assert.DoesNotContain(shortSecretValue, all, StringComparison.Ordinal);

        // Atomic: the previous set is untouched.
        Assert.Equal(1, store.Count);
        Assert.True(store.TryGet(AkidA, out SigV4Credential? kept));
        Assert.Equal("ks1", kept.Keystore);
    }

    [Fact]
    public void ApplyOrThrow_OnErrors_ThrowsTheWholeListWithoutSecrets()
    {
        var store = new CredentialStore(_time);

        CredentialConfigurationException e = Assert.Throws<CredentialConfigurationException>(() => store.ApplyOrThrow([
            new CredentialSpec("ks1", AkidA, SecretFile(SecretA, UnixFileMode.UserRead | UnixFileMode.OtherRead), null),
            new CredentialSpec("ks1", AkidB, null, Env("short")),
        ]));

        Assert.Equal(2, e.Errors.Count);
        Assert.DoesNotContain(SecretA, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("short\"", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Apply_RotatingCredentials_AddsAndRemovesWithoutTouchingTheUnchangedOne()
    {
        var cache = new SigningKeyCache();
        var store = new CredentialStore(_time, cache);
        string fileA = SecretFile(SecretA);
        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, fileA, null)]).Succeeded);
        Assert.True(store.TryGet(AkidA, out SigV4Credential? before));
        cache.Add($"{AkidA}/20260314/us-east-1/kms-xks-proxy", before, new byte[32]);

        // Step 1 of the spec's rotation: add the new credential next to the old one.
        CredentialApplyResult added = store.Apply([new CredentialSpec("ks1", AkidA, fileA, null), new CredentialSpec("ks1", AkidB, SecretFile(SecretB), null)]);
        Assert.Equal([AkidB], added.Added);
        Assert.Empty(added.Removed);
        Assert.True(store.TryGet(AkidA, out SigV4Credential? after));
        Assert.Same(before, after);
        Assert.Equal(1, cache.Count);

        // Step 4: remove the old one; its cached signing keys go too.
        CredentialApplyResult removed = store.Apply([new CredentialSpec("ks1", AkidB, SecretFile(SecretB), null)]);
        Assert.Equal([AkidA], removed.Removed);
        Assert.False(store.TryGet(AkidA, out _));
        Assert.True(store.TryGet(AkidB, out _));
        Assert.Equal(0, cache.Count);
    }

    [Fact]
    public void Apply_WhenASecretChangesUnderTheSameAccessKeyId_ReplacesTheCredential()
    {
        var store = new CredentialStore(_time);
        string variable = Env(SecretA);
        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, null, variable)]).Succeeded);
        Assert.True(store.TryGet(AkidA, out SigV4Credential? before));

        Environment.SetEnvironmentVariable(variable, SecretB);
        CredentialApplyResult result = store.Apply([new CredentialSpec("ks1", AkidA, null, variable)]);

        Assert.Equal([AkidA], result.Added);
        Assert.Equal([AkidA], result.Removed);
        Assert.True(store.TryGet(AkidA, out SigV4Credential? after));
        Assert.NotSame(before, after);
        Assert.Equal(SecretB, after.SecretAccessKey);
    }

    [Fact]
    public void Ages_UseTheSecretFilesWriteTime_OrTheFirstLoadForEnvironmentSecrets()
    {
        var store = new CredentialStore(_time);
        string file = SecretFile(SecretA);
        File.SetLastWriteTimeUtc(file, _time.GetUtcNow().UtcDateTime.AddDays(-30));
        string variable = Env(SecretB);
        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, file, null), new CredentialSpec("ks2", AkidB, null, variable)]).Succeeded);

        _time.Advance(TimeSpan.FromHours(5));
        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, file, null), new CredentialSpec("ks2", AkidB, null, variable)]).Succeeded);
        _time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(
            [("ks1", AkidA, TimeSpan.FromDays(30) + TimeSpan.FromHours(6)), ("ks2", AkidB, TimeSpan.FromHours(6))],
            store.Ages());
    }

    [Fact]
    public void Verifier_WithTheStore_StopsAcceptingARemovedCredentialForNewRequests()
    {
        var cache = new SigningKeyCache();
        var store = new CredentialStore(_time, cache);
        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, SecretFile(SecretA), null), new CredentialSpec("ks1", AkidB, SecretFile(SecretB), null)]).Succeeded);
        var verifier = new SigV4Verifier(store, _time, new SigV4VerifierOptions(), cache);
        IHeaderDictionary headers = new HeaderDictionary();
        headers.Host = "xks.example.com";
        headers["x-amz-date"] = ReferenceSigner.AmzDate(_time.GetUtcNow());
        headers.Authorization = ReferenceSigner.Authorization(AkidA, SecretA, "/kms/xks/v1/health", headers, "host;x-amz-date", "{}"u8.ToArray());
        var request = new SigV4Request("POST", "/kms/xks/v1/health", string.Empty, headers, "{}"u8.ToArray());
        Assert.True(verifier.Verify(request).Succeeded);

        Assert.True(store.Apply([new CredentialSpec("ks1", AkidB, SecretFile(SecretB), null)]).Succeeded);

        Assert.Equal(SigV4Failure.UnknownAccessKeyId, verifier.Verify(request).Failure);
    }

    [Fact]
    public async Task Apply_WhileManyThreadsVerify_NeverFailsARequestSignedWithACredentialKeptThroughout()
    {
        var cache = new SigningKeyCache();
        var store = new CredentialStore(_time, cache);
        string fileA = SecretFile(SecretA);
        string fileB = SecretFile(SecretB);
        Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, fileA, null)]).Succeeded);
        var verifier = new SigV4Verifier(store, _time, new SigV4VerifierOptions(), cache);
        IHeaderDictionary headers = new HeaderDictionary();
        headers.Host = "xks.example.com";
        headers["x-amz-date"] = ReferenceSigner.AmzDate(_time.GetUtcNow());
        headers.Authorization = ReferenceSigner.Authorization(AkidA, SecretA, "/kms/xks/v1/health", headers, "host;x-amz-date", "{}"u8.ToArray());
        var request = new SigV4Request("POST", "/kms/xks/v1/health", string.Empty, headers, "{}"u8.ToArray());
        // Runs until both sides did enough work, not for a fixed time: on a loaded machine the readers
        // may start late, and a timed run would then prove nothing (or fail on its own counters).
        using var stop = new CancellationTokenSource();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        int failures = 0;
        int verified = 0;

        Task[] readers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (!verifier.Verify(request).Succeeded)
                {
                    Interlocked.Increment(ref failures);
                }

                Interlocked.Increment(ref verified);
            }
        })).ToArray();
        int rotations = 0;
        try
        {
            while ((Volatile.Read(ref verified) < 20_000 || rotations < 200) && DateTime.UtcNow < deadline)
            {
                Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, fileA, null), new CredentialSpec("ks1", AkidB, fileB, null)]).Succeeded);
                Assert.True(store.Apply([new CredentialSpec("ks1", AkidA, fileA, null)]).Succeeded);
                rotations++;
            }
        }
        finally
        {
            stop.Cancel(); // the readers stop even when an assertion above fails
        }

        await Task.WhenAll(readers);
        Assert.Equal(0, failures);
        Assert.True(verified >= 20_000 && rotations >= 200, $"{verified} verifications, {rotations} rotations in 60 s");
    }

    private string SecretFile(string content, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        string path = Path.Combine(_directory, Guid.NewGuid().ToString("N") + ".secret");
        File.WriteAllText(path, content);
        File.SetUnixFileMode(path, mode);
        return path;
    }

    private string Env(string value)
    {
        string name = "XKS_TEST_SECRET_" + Guid.NewGuid().ToString("N");
        Environment.SetEnvironmentVariable(name, value);
        _environmentVariables.Add(name);
        return name;
    }
}
