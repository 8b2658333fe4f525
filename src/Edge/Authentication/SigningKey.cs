using System.Buffers;
using System.Security.Cryptography;
using System.Text;

namespace XksGrpc.Edge.Authentication;

/// <summary>
/// SigV4 Task 3, "Calculate the signature" (spec Appendix A, Task 3): the signing key is derived from the
/// secret and the Date, Region and service fields of the credential scope,
/// <code>
/// kDate    = HMAC-SHA256("AWS4" + secret, yyyymmdd)
/// kRegion  = HMAC-SHA256(kDate, region)
/// kService = HMAC-SHA256(kRegion, service)        // kms-xks-proxy for XKS
/// kSigning = HMAC-SHA256(kService, "aws4_request")
/// signature = HexEncode(HMAC-SHA256(kSigning, StringToSign))
/// </code>
/// The key only changes with the date, so <see cref="SigningKeyCache"/> keeps it per scope.
/// </summary>
internal static class SigningKey
{
    public const int Size = HMACSHA256.HashSizeInBytes;

    /// <summary>Derives kSigning into <paramref name="destination"/> (32 bytes); intermediate keys are wiped.</summary>
    public static void Derive(string secretAccessKey, ReadOnlySpan<char> date, ReadOnlySpan<char> region, ReadOnlySpan<char> service, Span<byte> destination)
    {
        int secretBytes = 4 + Encoding.UTF8.GetMaxByteCount(secretAccessKey.Length);
        byte[]? rented = null;
        Span<byte> kSecret = secretBytes <= 256 ? stackalloc byte[256] : (rented = ArrayPool<byte>.Shared.Rent(secretBytes));
        Span<byte> k1 = stackalloc byte[Size];
        Span<byte> k2 = stackalloc byte[Size];
        Span<byte> scratch = stackalloc byte[128];
        try
        {
            "AWS4"u8.CopyTo(kSecret);
            int length = 4 + Encoding.UTF8.GetBytes(secretAccessKey, kSecret[4..]);
            HMACSHA256.HashData(kSecret[..length], scratch[..Encoding.UTF8.GetBytes(date, scratch)], k1);
            HMACSHA256.HashData(k1, scratch[..Encoding.UTF8.GetBytes(region, scratch)], k2);
            HMACSHA256.HashData(k2, scratch[..Encoding.UTF8.GetBytes(service, scratch)], k1);
            HMACSHA256.HashData(k1, "aws4_request"u8, destination);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(kSecret);
            CryptographicOperations.ZeroMemory(k1);
            CryptographicOperations.ZeroMemory(k2);
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The signature: HMAC-SHA256(kSigning, StringToSign), 32 raw bytes (compared as bytes, not hex).</summary>
    public static void Sign(ReadOnlySpan<byte> signingKey, ReadOnlySpan<byte> stringToSign, Span<byte> destination)
        => HMACSHA256.HashData(signingKey, stringToSign, destination);
}
