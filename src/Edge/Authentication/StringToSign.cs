namespace XksGrpc.Edge.Authentication;

/// <summary>
/// SigV4 Task 2, "Create a string to sign" (spec Appendix A, Task 2):
/// <code>
/// "AWS4-HMAC-SHA256" '\n' RequestDateTime '\n' CredentialScope '\n' HexEncode(SHA256(CanonicalRequest))
/// </code>
/// RequestDateTime is the <c>x-amz-date</c> header, CredentialScope is the Credential element of the
/// Authorization header without the access key id (<c>yyyymmdd/region/service/aws4_request</c>).
/// </summary>
internal static class StringToSign
{
    /// <summary>Upper bound of the string to sign, given the header limits enforced by <see cref="AuthorizationHeader"/>.</summary>
    public const int MaxLength = 512;

    public static void Write(ref ByteBuffer buffer, ReadOnlySpan<char> requestDateTime, ReadOnlySpan<char> credentialScope, ReadOnlySpan<byte> canonicalRequestHash)
    {
        buffer.AppendUtf8(AuthorizationHeader.Algorithm);
        buffer.Append((byte)'\n');
        buffer.AppendUtf8(requestDateTime);
        buffer.Append((byte)'\n');
        buffer.AppendUtf8(credentialScope);
        buffer.Append((byte)'\n');
        buffer.AppendLowerHex(canonicalRequestHash);
    }

    /// <summary>The string to sign as text: for tests and diagnostics.</summary>
    public static string Format(string requestDateTime, string credentialScope, ReadOnlySpan<byte> canonicalRequestHash)
    {
        var buffer = new ByteBuffer(stackalloc byte[MaxLength]);
        try
        {
            Write(ref buffer, requestDateTime, credentialScope, canonicalRequestHash);
            return buffer.ToString();
        }
        finally
        {
            buffer.Dispose();
        }
    }
}
