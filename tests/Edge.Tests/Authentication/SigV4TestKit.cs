using System.Diagnostics.CodeAnalysis;
using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.Time.Testing;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary>An in-memory credential source for tests that need credentials outside the spec's format (AKIDEXAMPLE).</summary>
internal sealed class TestCredentialSource : ISigV4CredentialSource
{
    private readonly Dictionary<string, SigV4Credential> _credentials = new(StringComparer.Ordinal);

    public TestCredentialSource(params SigV4Credential[] credentials)
    {
        foreach (SigV4Credential credential in credentials)
        {
            _credentials[credential.AccessKeyId] = credential;
        }
    }

    public Action<string>? AfterLookup { get; set; }

    public bool TryGet(string accessKeyId, [NotNullWhen(true)] out SigV4Credential? credential)
    {
        bool found = _credentials.TryGetValue(accessKeyId, out credential);
        AfterLookup?.Invoke(accessKeyId);
        return found;
    }

    public bool TryGet(ReadOnlySpan<char> accessKeyId, [NotNullWhen(true)] out SigV4Credential? credential)
    {
        bool found = _credentials.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(accessKeyId, out credential);
        AfterLookup?.Invoke(accessKeyId.ToString());
        return found;
    }

    public void Remove(string accessKeyId) => _credentials.Remove(accessKeyId);
}

/// <summary>An HTTP request as the AWS test suite writes it (.req / .sreq files).</summary>
internal sealed record RawHttpRequest(string Method, string RawPath, string RawQuery, IHeaderDictionary Headers, byte[] Body)
{
    public SigV4Request ToSigV4Request() => new(Method, RawPath, RawQuery, Headers, Body);

    /// <summary>
    /// Parses the suite's format: request line, "Name:value" lines (value trimmed of surrounding whitespace,
    /// as servers do), a blank line, the body. A line starting
    /// with whitespace continues the previous header (obsolete line folding, used only by
    /// get-header-value-multiline): the suite treats each folded line as one more value of that header,
    /// joined with ',' in its .creq, so the parser adds it as a further value.
    /// </summary>
    public static RawHttpRequest Parse(string text)
    {
        string[] lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        string[] requestLine = lines[0].Split(' ');
        string method = requestLine[0];

        // The target is everything between the method and the trailing " HTTP/1.1" (it may contain spaces).
        string target = lines[0][(method.Length + 1)..lines[0].LastIndexOf(" HTTP/", StringComparison.Ordinal)];
        int question = target.IndexOf('?', StringComparison.Ordinal);
        string path = question < 0 ? target : target[..question];
        string query = question < 0 ? string.Empty : target[(question + 1)..];

        IHeaderDictionary headers = new HeaderDictionary();
        string? lastName = null;
        int i = 1;
        for (; i < lines.Length; i++)
        {
            string line = lines[i];
            if (line.Length == 0)
            {
                i++;
                break;
            }

            if (char.IsWhiteSpace(line[0]) && lastName is not null)
            {
                headers[lastName] = StringValues.Concat(headers[lastName], line.Trim());
                continue;
            }

            int colon = line.IndexOf(':', StringComparison.Ordinal);
            string name = line[..colon];
            string value = line[(colon + 1)..].Trim(' ', '\t'); // as an HTTP server does (RFC 9110 5.5)
            headers[name] = headers.TryGetValue(name, out StringValues existing) ? StringValues.Concat(existing, value) : new StringValues(value);
            lastName = name;
        }

        string body = i < lines.Length ? string.Join('\n', lines[i..]) : string.Empty;
        return new RawHttpRequest(method, path, query, headers, Encoding.UTF8.GetBytes(body));
    }
}

/// <summary>Locates and reads AWS's SigV4 test suite (shared/testdata/aws-sig-v4-test-suite).</summary>
internal static class AwsTestSuite
{
    public const string AccessKeyId = "AKIDEXAMPLE";
    public const string SecretAccessKey = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    public const string Region = "us-east-1";
    public const string Service = "service";
    public static readonly DateTimeOffset SignedAt = new(2015, 8, 30, 12, 36, 0, TimeSpan.Zero);

    private static readonly Lazy<string> RootDirectory = new(FindRoot);

    public static string Root => RootDirectory.Value;

    /// <summary>Every vector: a folder holding &lt;name&gt;.req, relative to the suite's root.</summary>
    public static IReadOnlyList<string> AllVectors()
    {
        var names = new List<string>();
        foreach (string file in Directory.EnumerateFiles(Root, "*.req", SearchOption.AllDirectories))
        {
            names.Add(Path.GetRelativePath(Root, Path.GetDirectoryName(file)!).Replace('\\', '/'));
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    public static string Read(string vector, string extension)
        => File.ReadAllText(Path.Combine(Root, vector, Path.GetFileName(vector) + extension), Encoding.UTF8);

    public static SigV4Verifier Verifier(TimeProvider? time = null, SigningKeyCache? cache = null) => new(
        new TestCredentialSource(new SigV4Credential(AccessKeyId, "vectors", SecretAccessKey)),
        time ?? new FakeTimeProvider(SignedAt),
        new SigV4VerifierOptions { Service = Service },
        cache ?? new SigningKeyCache());

    private static string FindRoot()
    {
        string? overridden = Environment.GetEnvironmentVariable("XKS_SIGV4_TEST_SUITE");
        if (!string.IsNullOrEmpty(overridden))
        {
            return overridden;
        }

        // The repository's sibling shared/ folder (CI lays it beside the clone; worktrees are deeper).
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string candidate = Path.Combine(dir.FullName, "shared", "testdata", "aws-sig-v4-test-suite");
            if (Directory.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            "AWS SigV4 test suite not found: expected shared/testdata/aws-sig-v4-test-suite beside an ancestor of "
            + AppContext.BaseDirectory + " (or set XKS_SIGV4_TEST_SUITE).");
    }
}
