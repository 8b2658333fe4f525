using System.Security.Cryptography;

namespace XksGrpc.Edge.Authentication;

/// <summary>
/// A freshly generated XKS credential and the file the KMS console accepts (spec "XKS proxy configuration
/// in AWS KMS console"). <see cref="ToString"/> leaves the secret out.
/// </summary>
internal sealed record GeneratedCredential(string UriPath, string AccessKeyId, string SecretAccessKey)
{
    /// <summary>
    /// The KMS console's proxy configuration file, laid out as the spec's example:
    /// <c>{"XksProxyUriPath": ..., "XksProxyAuthenticationCredential": {"AccessKeyId": ..., "RawSecretAccessKey": ...}}</c>.
    /// Every value is validated to characters that need no JSON escaping.
    /// </summary>
    public string ToKmsConsoleJson() =>
        "{\n"
        + $"    \"XksProxyUriPath\": \"{UriPath}\",\n"
        + "    \"XksProxyAuthenticationCredential\": {\n"
        + $"        \"AccessKeyId\": \"{AccessKeyId}\",\n"
        + $"        \"RawSecretAccessKey\": \"{SecretAccessKey}\"\n"
        + "    }\n"
        + "}\n";

    public override string ToString() => $"GeneratedCredential({UriPath}, {AccessKeyId})";
}

/// <summary>
/// Generates spec-valid SigV4 credentials (spec Appendix A): an access key id of 26 random characters of
/// A-Z and 2-7 (130 bits, within the 20-30 the spec allows) and a secret that is the Base64 of 32 random
/// bytes (256 bits of entropy, 44 characters), both from <see cref="RandomNumberGenerator"/>.
/// </summary>
internal static class CredentialGenerator
{
    public const string AccessKeyIdAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    public const int AccessKeyIdLength = 26;
    public const int SecretEntropyBytes = 32;
    public const int MaxUriPathLength = 128;
    public const string UriPathSuffix = "/kms/xks/v1";

    /// <summary>Generates a credential for <paramref name="uriPath"/>; throws <see cref="ArgumentException"/> if the path is invalid.</summary>
    public static GeneratedCredential Create(string uriPath)
    {
        string? error = ValidateUriPath(uriPath);
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(uriPath));
        }

        string accessKeyId = new(RandomNumberGenerator.GetItems<char>(AccessKeyIdAlphabet, AccessKeyIdLength));
        Span<byte> random = stackalloc byte[SecretEntropyBytes];
        RandomNumberGenerator.Fill(random);
        string secret = Convert.ToBase64String(random);
        CryptographicOperations.ZeroMemory(random);
        return new GeneratedCredential(uriPath, accessKeyId, secret);
    }

    /// <summary>
    /// The KMS console's rules for XksProxyUriPath: at most 128 characters of a-z, A-Z, 0-9, '/', '_' and '-',
    /// starting with '/' and ending in /kms/xks/v1 (version 1). Null when valid, else the reason.
    /// </summary>
    public static string? ValidateUriPath(string? uriPath)
    {
        if (string.IsNullOrEmpty(uriPath))
        {
            return "The URI path is required (e.g. /ks1/kms/xks/v1).";
        }

        if (uriPath.Length > MaxUriPathLength)
        {
            return $"The URI path must be at most {MaxUriPathLength} characters (got {uriPath.Length}).";
        }

        foreach (char c in uriPath)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '/' or '_' or '-'))
            {
                return "The URI path may contain only a-z, A-Z, 0-9, '/', '_' and '-'.";
            }
        }

        if (uriPath[0] != '/' || !uriPath.EndsWith(UriPathSuffix, StringComparison.Ordinal))
        {
            return $"The URI path must start with '/' and end with {UriPathSuffix}.";
        }

        if (uriPath.Contains("//", StringComparison.Ordinal))
        {
            return "The URI path must not contain an empty segment ('//').";
        }

        return null;
    }
}
