using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace XksGrpc.Bench.Signing;

/// <summary>
/// A deliberately small, independent SigV4 signer for XKS requests (spec Appendix A): signs
/// exactly <c>host;x-amz-date</c> as KMS does, over a POST with no query string. It shares no
/// code with the edge's verifier, so a bug in one is not hidden by the same bug in the other.
/// Checked against AWS's post-vanilla test vector by <c>XksGrpc.Bench selftest</c>.
/// </summary>
internal sealed class SigV4Signer(string accessKeyId, string secretAccessKey, string region, string service = "kms-xks-proxy")
{
    public const string Algorithm = "AWS4-HMAC-SHA256";
    public const string SignedHeaders = "host;x-amz-date";

    private byte[]? _signingKey;
    private string? _signingKeyDate;

    public string AccessKeyId { get; } = accessKeyId;

    public string Region { get; } = region;

    public string Service { get; } = service;

    /// <summary>Formats the x-amz-date header value (ISO 8601 basic, UTC).</summary>
    public static string FormatAmzDate(DateTime utc) => utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary>Returns the Authorization header value for a POST of <paramref name="body"/> to <paramref name="canonicalUri"/>.</summary>
    public string Sign(string host, string canonicalUri, string amzDate, ReadOnlySpan<byte> body)
    {
        string date = amzDate[..8];

        // Task 1: canonical request (method, URI, empty query, headers, signed headers, payload hash).
        string canonicalRequest = string.Concat(
            "POST\n", canonicalUri, "\n\n",
            "host:", host, "\n",
            "x-amz-date:", amzDate, "\n\n",
            SignedHeaders, "\n",
            HexSha256(body));

        // Task 2: string to sign.
        string scope = $"{date}/{Region}/{Service}/aws4_request";
        string stringToSign = string.Concat(
            Algorithm, "\n", amzDate, "\n", scope, "\n", HexSha256(Encoding.UTF8.GetBytes(canonicalRequest)));

        // Task 3: signature with the (cached per day) signing key.
        byte[] signature = HMACSHA256.HashData(SigningKey(date), Encoding.UTF8.GetBytes(stringToSign));

        return string.Concat(
            Algorithm, " Credential=", AccessKeyId, "/", scope,
            ", SignedHeaders=", SignedHeaders,
            ", Signature=", Convert.ToHexStringLower(signature));
    }

    private byte[] SigningKey(string date)
    {
        if (_signingKey is not null && _signingKeyDate == date)
        {
            return _signingKey;
        }

        byte[] k = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secretAccessKey), Encoding.UTF8.GetBytes(date));
        k = HMACSHA256.HashData(k, Encoding.UTF8.GetBytes(Region));
        k = HMACSHA256.HashData(k, Encoding.UTF8.GetBytes(Service));
        k = HMACSHA256.HashData(k, "aws4_request"u8);
        _signingKeyDate = date;
        _signingKey = k;
        return k;
    }

    private static string HexSha256(ReadOnlySpan<byte> data)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(data, hash);
        return Convert.ToHexStringLower(hash);
    }
}
