using System.Diagnostics.CodeAnalysis;

namespace XksGrpc.Edge.Authorization;

/// <summary>
/// The parts of a KMS key ARN that policies match on (spec: Encrypt/Decrypt/GetKeyMetadata
/// requestMetadata.kmsKeyArn): <c>arn:&lt;partition&gt;:kms:&lt;region&gt;:&lt;account&gt;:key/&lt;id&gt;</c>.
/// The spec's own examples write <c>…:123456789012:/key/…</c>; that form is accepted too.
/// </summary>
internal readonly record struct KmsKeyArn(string Partition, string Region, string Account, string KeyId)
{
    public static bool TryParse(string? arn, [NotNullWhen(true)] out KmsKeyArn? parsed)
    {
        parsed = null;
        if (string.IsNullOrEmpty(arn))
        {
            return false;
        }

        // arn : partition : service : region : account : resource  (the resource may contain ':')
        string[] parts = arn.Split(':', 6);
        if (parts.Length != 6 || parts[0] != "arn" || parts[2] != "kms"
            || parts[1].Length == 0 || parts[3].Length == 0 || parts[4].Length == 0)
        {
            return false;
        }

        string resource = parts[5];
        string keyId;
        if (resource.StartsWith("key/", StringComparison.Ordinal))
        {
            keyId = resource[4..];
        }
        else if (resource.StartsWith("/key/", StringComparison.Ordinal))
        {
            keyId = resource[5..];
        }
        else
        {
            return false;
        }

        if (keyId.Length == 0)
        {
            return false;
        }

        parsed = new KmsKeyArn(parts[1], parts[3], parts[4], keyId);
        return true;
    }
}
