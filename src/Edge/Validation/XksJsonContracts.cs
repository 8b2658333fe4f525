using System.Text.Json.Serialization;

namespace XksGrpc.Edge.Validation;

// The spec's JSON wire contracts (spec, "API operations"). Responses are written through the
// source-generated XksJsonContext; requests are read by XksRequestReader in one pass over the
// body (the request records below document the shape and let tests build bodies).

/// <summary>Response of GetKeyMetadata (spec, "GetKeyMetadata").</summary>
internal sealed record GetKeyMetadataResponseBody(
    [property: JsonPropertyName("keySpec")] string KeySpec,
    [property: JsonPropertyName("keyUsage")] IReadOnlyList<string> KeyUsage,
    [property: JsonPropertyName("keyStatus")] string KeyStatus);

/// <summary>Response of Encrypt (spec, "Encrypt"). Optional members are left out when empty.</summary>
internal sealed record EncryptResponseBody(
    [property: JsonPropertyName("ciphertext")] ReadOnlyMemory<byte> Ciphertext,
    [property: JsonPropertyName("ciphertextMetadata"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ReadOnlyMemory<byte>? CiphertextMetadata,
    [property: JsonPropertyName("initializationVector")] ReadOnlyMemory<byte> InitializationVector,
    [property: JsonPropertyName("authenticationTag")] ReadOnlyMemory<byte> AuthenticationTag,
    [property: JsonPropertyName("ciphertextDataIntegrityValue"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] ReadOnlyMemory<byte>? CiphertextDataIntegrityValue);

/// <summary>Response of Decrypt (spec, "Decrypt").</summary>
internal sealed record DecryptResponseBody(
    [property: JsonPropertyName("plaintext")] ReadOnlyMemory<byte> Plaintext);

/// <summary>One external key manager in GetHealthStatus (spec, "GetHealthStatus").</summary>
internal sealed record EkmFleetDetailBody(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("healthStatus")] string HealthStatus);

/// <summary>Response of GetHealthStatus (spec, "GetHealthStatus").</summary>
internal sealed record GetHealthStatusResponseBody(
    [property: JsonPropertyName("xksProxyFleetSize")] int XksProxyFleetSize,
    [property: JsonPropertyName("xksProxyVendor")] string XksProxyVendor,
    [property: JsonPropertyName("xksProxyModel")] string XksProxyModel,
    [property: JsonPropertyName("ekmVendor")] string EkmVendor,
    [property: JsonPropertyName("ekmFleetDetails")] IReadOnlyList<EkmFleetDetailBody> EkmFleetDetails);

/// <summary>Error body (spec, "Error codes").</summary>
internal sealed record ErrorResponseBody(
    [property: JsonPropertyName("errorName")] string ErrorName,
    [property: JsonPropertyName("errorMessage"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ErrorMessage);

/// <summary>The spec's requestMetadata (spec Appendix B); unknown members land in <see cref="Additional"/>.</summary>
internal sealed record RequestMetadataBody
{
    [JsonPropertyName("awsPrincipalArn")] public string? AwsPrincipalArn { get; init; }
    [JsonPropertyName("awsSourceVpc")] public string? AwsSourceVpc { get; init; }
    [JsonPropertyName("awsSourceVpce")] public string? AwsSourceVpce { get; init; }
    [JsonPropertyName("kmsKeyArn")] public string? KmsKeyArn { get; init; }
    [JsonPropertyName("kmsOperation")] public string? KmsOperation { get; init; }
    [JsonPropertyName("kmsRequestId")] public string? KmsRequestId { get; init; }
    [JsonPropertyName("kmsViaService")] public string? KmsViaService { get; init; }
    [JsonExtensionData] public Dictionary<string, object>? Additional { get; init; }
}

/// <summary>Request of GetKeyMetadata and GetHealthStatus (only requestMetadata).</summary>
internal sealed record MetadataOnlyRequestBody(
    [property: JsonPropertyName("requestMetadata")] RequestMetadataBody? RequestMetadata);

/// <summary>Request of Encrypt (spec, "Encrypt").</summary>
internal sealed record EncryptRequestBody
{
    [JsonPropertyName("requestMetadata")] public RequestMetadataBody? RequestMetadata { get; init; }
    [JsonPropertyName("plaintext")] public byte[]? Plaintext { get; init; }
    [JsonPropertyName("encryptionAlgorithm")] public string? EncryptionAlgorithm { get; init; }
    [JsonPropertyName("additionalAuthenticatedData")] public byte[]? AdditionalAuthenticatedData { get; init; }
    [JsonPropertyName("ciphertextDataIntegrityValueAlgorithm")] public string? CiphertextDataIntegrityValueAlgorithm { get; init; }
}

/// <summary>Request of Decrypt (spec, "Decrypt").</summary>
internal sealed record DecryptRequestBody
{
    [JsonPropertyName("requestMetadata")] public RequestMetadataBody? RequestMetadata { get; init; }
    [JsonPropertyName("ciphertext")] public byte[]? Ciphertext { get; init; }
    [JsonPropertyName("ciphertextMetadata")] public byte[]? CiphertextMetadata { get; init; }
    [JsonPropertyName("encryptionAlgorithm")] public string? EncryptionAlgorithm { get; init; }
    [JsonPropertyName("additionalAuthenticatedData")] public byte[]? AdditionalAuthenticatedData { get; init; }
    [JsonPropertyName("initializationVector")] public byte[]? InitializationVector { get; init; }
    [JsonPropertyName("authenticationTag")] public byte[]? AuthenticationTag { get; init; }
}

/// <summary>Source-generated System.Text.Json contracts for every XKS body (compact, one line).</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(GetKeyMetadataResponseBody))]
[JsonSerializable(typeof(EncryptResponseBody))]
[JsonSerializable(typeof(DecryptResponseBody))]
[JsonSerializable(typeof(GetHealthStatusResponseBody))]
[JsonSerializable(typeof(ErrorResponseBody))]
[JsonSerializable(typeof(MetadataOnlyRequestBody))]
[JsonSerializable(typeof(EncryptRequestBody))]
[JsonSerializable(typeof(DecryptRequestBody))]
internal sealed partial class XksJsonContext : JsonSerializerContext;
