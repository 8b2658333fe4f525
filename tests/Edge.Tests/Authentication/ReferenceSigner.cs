using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Http;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary>
/// A deliberately plain SigV4 signer written from AWS's documentation, for hand-made requests the SDK will
/// not produce (a scope date different from x-amz-date, host left out of SignedHeaders, ...). It only
/// handles what those tests need: no query, a path of unreserved characters, single-valued headers.
/// </summary>
internal static class ReferenceSigner
{
    public static string Authorization(
        string accessKeyId,
        string secretAccessKey,
        string path,
        IHeaderDictionary headers,
        string signedHeaders,
        byte[] body,
        string? scopeDate = null,
        string region = "us-east-1",
        string service = "kms-xks-proxy",
        string method = "POST")
    {
        string amzDate = headers["x-amz-date"].ToString();
        scopeDate ??= amzDate[..8];
        var canonical = new StringBuilder();
        canonical.Append(method).Append('\n').Append(path).Append("\n\n");
        foreach (string name in signedHeaders.Split(';'))
        {
            canonical.Append(name).Append(':').Append(headers[name].ToString().Trim()).Append('\n');
        }

        canonical.Append('\n').Append(signedHeaders).Append('\n').Append(Hex(SHA256.HashData(body)));
        string scope = $"{scopeDate}/{region}/{service}/aws4_request";
        string stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
        byte[] key = Hmac(Encoding.UTF8.GetBytes("AWS4" + secretAccessKey), scopeDate);
        key = Hmac(key, region);
        key = Hmac(key, service);
        key = Hmac(key, "aws4_request");
        string signature = Hex(Hmac(key, stringToSign));
        return $"AWS4-HMAC-SHA256 Credential={accessKeyId}/{scope}, SignedHeaders={signedHeaders}, Signature={signature}";
    }

    public static string AmzDate(DateTimeOffset instant) => instant.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static byte[] Hmac(byte[] key, string data) => HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(data));

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
