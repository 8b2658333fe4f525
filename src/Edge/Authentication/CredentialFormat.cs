namespace XksGrpc.Edge.Authentication;

/// <summary>
/// The spec's rules for XKS SigV4 credentials (Appendix A and "XKS proxy configuration in AWS KMS console"):
/// an access key id of 20-30 characters 'A'-'Z' and '2'-'7'; a secret access key of 43-64 characters
/// A-Z, a-z, 0-9, '+', '/' and '='.
/// </summary>
internal static class CredentialFormat
{
    public const int MinAccessKeyIdLength = 20;
    public const int MaxAccessKeyIdLength = 30;
    public const int MinSecretLength = 43;
    public const int MaxSecretLength = 64;

    public const string AccessKeyIdRule = "20-30 characters of A-Z and 2-7";
    public const string SecretRule = "43-64 characters of A-Z, a-z, 0-9, '+', '/' and '='";

    public static bool IsValidAccessKeyId(ReadOnlySpan<char> value)
    {
        if (value.Length is < MinAccessKeyIdLength or > MaxAccessKeyIdLength)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= '2' and <= '7')))
            {
                return false;
            }
        }

        return true;
    }

    public static bool IsValidSecret(ReadOnlySpan<char> value)
    {
        if (value.Length is < MinSecretLength or > MaxSecretLength)
        {
            return false;
        }

        foreach (char c in value)
        {
            if (c is not ((>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '+' or '/' or '='))
            {
                return false;
            }
        }

        return true;
    }
}
