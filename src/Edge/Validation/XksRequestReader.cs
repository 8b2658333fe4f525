using System.Text;
using System.Text.Json;
using Google.Protobuf;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Errors;
using XksGrpc.Edge.Routing;

namespace XksGrpc.Edge.Validation;

/// <summary>
/// Reads and validates an XKS request body in one pass (Utf8JsonReader), producing the broker's
/// protobuf request. Rules (spec, "API operations" and Appendix B): required members present and
/// typed; Base64 strict; unknown members tolerated (unknown requestMetadata members travel to the
/// broker as raw JSON in <c>additional</c>); kmsOperation and kmsRequestId opaque; ARNs up to 2048
/// characters; encryptionAlgorithm AES_GCM; a present CDIV algorithm SHA_256; IV 12 or 16 bytes;
/// tag 16 bytes; ciphertextMetadata up to 20 bytes; plaintext/ciphertext and AAD up to the
/// configured maxima (beyond: 501 UnsupportedOperationException).
/// </summary>
internal static class XksRequestReader
{
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64, CommentHandling = JsonCommentHandling.Disallow };

    private enum Member
    {
        Unknown,
        RequestMetadata,
        Plaintext,
        EncryptionAlgorithm,
        AdditionalAuthenticatedData,
        CdivAlgorithm,
        Ciphertext,
        CiphertextMetadata,
        InitializationVector,
        AuthenticationTag,
    }

    private enum MetadataMember
    {
        Unknown,
        AwsPrincipalArn,
        AwsSourceVpc,
        AwsSourceVpce,
        KmsKeyArn,
        KmsOperation,
        KmsRequestId,
        KmsViaService,
    }

    /// <summary>The validated request.</summary>
    public readonly record struct Result(IMessage Message, RequestMetadata Metadata, bool CdivRequested);

    public static XksFailure? Read(XksApi api, ReadOnlySpan<byte> json, string keystore, string keyId, XksLimits limits, out Result result)
    {
        result = default;
        try
        {
            return ReadCore(api, json, keystore, keyId, limits, out result);
        }
        catch (JsonException)
        {
            return XksFailure.Validation("The request body is not valid JSON.");
        }
    }

    private static XksFailure? ReadCore(XksApi api, ReadOnlySpan<byte> json, string keystore, string keyId, XksLimits limits, out Result result)
    {
        result = default;
        var reader = new Utf8JsonReader(json, ReaderOptions);
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return XksFailure.Validation("The request body must be a JSON object.");
        }

        RequestMetadata? metadata = null;
        ByteString? plaintext = null, aad = null, ciphertext = null, ciphertextMetadata = null, iv = null, tag = null;
        string? algorithm = null;
        var cdiv = CdivAlgorithm.None;
        var seen = 0u;
        var metadataPresent = 0u;

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var member = Identify(ref reader, api);
            if (member != Member.Unknown)
            {
                var bit = 1u << (int)member;
                if ((seen & bit) != 0)
                {
                    return XksFailure.Validation($"The member '{Name(member)}' appears more than once.");
                }

                seen |= bit;
            }

            reader.Read();
            if (member == Member.Unknown || reader.TokenType == JsonTokenType.Null)
            {
                // Unknown members are tolerated; null stands for an absent optional member.
                reader.Skip();
                continue;
            }

            XksFailure? failure = null;
            switch (member)
            {
                case Member.RequestMetadata:
                    failure = ReadMetadata(ref reader, json, out metadata, out metadataPresent);
                    break;
                case Member.Plaintext:
                    failure = ReadBytes(ref reader, member, limits.MaxPlaintextBytes, XksErrorName.UnsupportedOperationException, out plaintext);
                    break;
                case Member.Ciphertext:
                    failure = ReadBytes(ref reader, member, limits.MaxPlaintextBytes, XksErrorName.UnsupportedOperationException, out ciphertext);
                    break;
                case Member.AdditionalAuthenticatedData:
                    failure = ReadBytes(ref reader, member, limits.MaxAadBytes, XksErrorName.UnsupportedOperationException, out aad);
                    break;
                case Member.CiphertextMetadata:
                    failure = ReadBytes(ref reader, member, XksLimits.MaxCiphertextMetadataBytes, XksErrorName.InvalidCiphertextException, out ciphertextMetadata);
                    break;
                case Member.InitializationVector:
                    failure = ReadBytes(ref reader, member, 16, XksErrorName.InvalidCiphertextException, out iv);
                    break;
                case Member.AuthenticationTag:
                    failure = ReadBytes(ref reader, member, XksLimits.TagBytes, XksErrorName.InvalidCiphertextException, out tag);
                    break;
                case Member.EncryptionAlgorithm:
                    failure = ReadString(ref reader, member, out algorithm);
                    break;
                case Member.CdivAlgorithm:
                    failure = ReadString(ref reader, member, out var cdivName);
                    if (failure is null)
                    {
                        if (cdivName != "SHA_256")
                        {
                            return XksFailure.Validation("ciphertextDataIntegrityValueAlgorithm must be SHA_256.");
                        }

                        cdiv = CdivAlgorithm.Sha256;
                    }

                    break;
            }

            if (failure is not null)
            {
                return failure;
            }
        }

        // Anything after the root object is an error (the reader throws on a second value).
        if (reader.TokenType != JsonTokenType.EndObject || reader.Read())
        {
            return XksFailure.Validation("The request body must be a single JSON object.");
        }

        if (metadata is null)
        {
            return XksFailure.Validation("requestMetadata is required.");
        }

        var metadataFailure = CheckMetadata(api, metadataPresent);
        if (metadataFailure is not null)
        {
            return metadataFailure;
        }

        var key = api == XksApi.GetHealthStatus ? null : new KeyReference { Keystore = keystore, ExternalKeyId = keyId };
        switch (api)
        {
            case XksApi.GetHealthStatus:
                result = new Result(new GetHealthStatusRequest { Keystore = keystore, RequestMetadata = metadata }, metadata, false);
                return null;

            case XksApi.GetKeyMetadata:
                result = new Result(new GetKeyMetadataRequest { Key = key, RequestMetadata = metadata }, metadata, false);
                return null;

            case XksApi.Encrypt:
                if (plaintext is null)
                {
                    return XksFailure.Validation("plaintext is required.");
                }

                if (plaintext.Length == 0)
                {
                    return XksFailure.Validation("plaintext must not be empty.");
                }

                var algorithmFailure = CheckAlgorithm(algorithm);
                if (algorithmFailure is not null)
                {
                    return algorithmFailure;
                }

                result = new Result(new EncryptRequest
                {
                    Key = key,
                    RequestMetadata = metadata,
                    Plaintext = plaintext,
                    AdditionalAuthenticatedData = aad ?? ByteString.Empty,
                    CdivAlgorithm = cdiv,
                }, metadata, cdiv != CdivAlgorithm.None);
                return null;

            case XksApi.Decrypt:
                if (ciphertext is null)
                {
                    return XksFailure.Validation("ciphertext is required.");
                }

                if (ciphertext.Length == 0)
                {
                    return XksFailure.Validation("ciphertext must not be empty.");
                }

                if (iv is null)
                {
                    return XksFailure.Validation("initializationVector is required.");
                }

                if (iv.Length is not (12 or 16))
                {
                    return XksFailure.InvalidCiphertext("initializationVector must be 12 or 16 bytes.");
                }

                if (tag is null)
                {
                    return XksFailure.Validation("authenticationTag is required.");
                }

                if (tag.Length != XksLimits.TagBytes)
                {
                    return XksFailure.InvalidCiphertext("authenticationTag must be 16 bytes.");
                }

                var decryptAlgorithmFailure = CheckAlgorithm(algorithm);
                if (decryptAlgorithmFailure is not null)
                {
                    return decryptAlgorithmFailure;
                }

                result = new Result(new DecryptRequest
                {
                    Key = key,
                    RequestMetadata = metadata,
                    Ciphertext = ciphertext,
                    CiphertextMetadata = ciphertextMetadata ?? ByteString.Empty,
                    AdditionalAuthenticatedData = aad ?? ByteString.Empty,
                    InitializationVector = iv,
                    AuthenticationTag = tag,
                }, metadata, false);
                return null;

            default:
                throw new ArgumentOutOfRangeException(nameof(api));
        }
    }

    private static XksFailure? CheckAlgorithm(string? algorithm) => algorithm switch
    {
        null => XksFailure.Validation("encryptionAlgorithm is required."),
        "AES_GCM" => null,
        _ => XksFailure.Validation("encryptionAlgorithm must be AES_GCM."),
    };

    private static bool Has(uint present, MetadataMember member) => (present & (1u << (int)member)) != 0;

    private static XksFailure? CheckMetadata(XksApi api, uint present)
    {
        if (!Has(present, MetadataMember.KmsRequestId))
        {
            return XksFailure.Validation("requestMetadata.kmsRequestId is required.");
        }

        if (!Has(present, MetadataMember.KmsOperation))
        {
            return XksFailure.Validation("requestMetadata.kmsOperation is required.");
        }

        if (api != XksApi.GetHealthStatus && !Has(present, MetadataMember.AwsPrincipalArn))
        {
            return XksFailure.Validation("requestMetadata.awsPrincipalArn is required.");
        }

        if (api is XksApi.Encrypt or XksApi.Decrypt && !Has(present, MetadataMember.KmsKeyArn))
        {
            return XksFailure.Validation("requestMetadata.kmsKeyArn is required.");
        }

        return null;
    }

    private static XksFailure? ReadMetadata(ref Utf8JsonReader reader, ReadOnlySpan<byte> json, out RequestMetadata? metadata, out uint present)
    {
        metadata = null;
        present = 0;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return XksFailure.Validation("requestMetadata must be a JSON object.");
        }

        var result = new RequestMetadata();
        var seen = 0u;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var member = IdentifyMetadata(ref reader);
            if (member == MetadataMember.Unknown)
            {
                // Appendix B: KMS may add members; they pass through as raw JSON text.
                var name = reader.GetString()!;
                reader.Read();
                var start = (int)reader.TokenStartIndex;
                reader.Skip();
                var end = (int)reader.BytesConsumed;
                result.Additional[name] = Encoding.UTF8.GetString(json[start..end]);
                continue;
            }

            var bit = 1u << (int)member;
            if ((seen & bit) != 0)
            {
                return XksFailure.Validation($"requestMetadata.{MetadataName(member)} appears more than once.");
            }

            seen |= bit;
            reader.Read();
            if (reader.TokenType == JsonTokenType.Null)
            {
                continue;
            }

            if (reader.TokenType != JsonTokenType.String)
            {
                return XksFailure.Validation($"requestMetadata.{MetadataName(member)} must be a string.");
            }

            var value = reader.GetString()!;
            switch (member)
            {
                case MetadataMember.AwsPrincipalArn:
                    if (value.Length > XksLimits.MaxArnLength)
                    {
                        return XksFailure.Validation("requestMetadata.awsPrincipalArn is longer than 2048 characters.");
                    }

                    result.AwsPrincipalArn = value;
                    break;
                case MetadataMember.KmsKeyArn:
                    if (value.Length > XksLimits.MaxArnLength)
                    {
                        return XksFailure.Validation("requestMetadata.kmsKeyArn is longer than 2048 characters.");
                    }

                    result.KmsKeyArn = value;
                    break;
                case MetadataMember.AwsSourceVpc:
                    result.AwsSourceVpc = value;
                    break;
                case MetadataMember.AwsSourceVpce:
                    result.AwsSourceVpce = value;
                    break;
                case MetadataMember.KmsOperation:
                    result.KmsOperation = value;
                    break;
                case MetadataMember.KmsRequestId:
                    result.KmsRequestId = value;
                    break;
                case MetadataMember.KmsViaService:
                    result.KmsViaService = value;
                    break;
            }

            // Presence of required strings is kept apart: proto3 cannot tell "" from absent.
            present |= bit;
        }

        metadata = result;
        return null;
    }

    private static XksFailure? ReadString(ref Utf8JsonReader reader, Member member, out string? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            return XksFailure.Validation($"{Name(member)} must be a string.");
        }

        value = reader.GetString();
        return null;
    }

    private static XksFailure? ReadBytes(ref Utf8JsonReader reader, Member member, int maxBytes, XksErrorName tooLong, out ByteString? value)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            return XksFailure.Validation($"{Name(member)} must be a Base64 string.");
        }

        byte[]? unescaped = null;
        ReadOnlySpan<byte> text;
        if (reader.ValueIsEscaped)
        {
            // Rare: JSON escapes inside Base64 (e.g. "\/"); unescape, then apply the same rules.
            unescaped = new byte[reader.ValueSpan.Length];
            var written = reader.CopyString(unescaped);
            text = unescaped.AsSpan(0, written);
        }
        else
        {
            text = reader.ValueSpan;
        }

        var length = StrictBase64.DecodedLength(text);
        if (length < 0)
        {
            return XksFailure.Validation($"{Name(member)} is not valid standard Base64.");
        }

        if (length > maxBytes)
        {
            return new XksFailure(tooLong, $"{Name(member)} is longer than {maxBytes} bytes.");
        }

        var bytes = length == 0 ? [] : new byte[length];
        StrictBase64.Decode(text, bytes);
        value = UnsafeByteOperations.UnsafeWrap(bytes);
        return null;
    }

    private static Member Identify(ref Utf8JsonReader reader, XksApi api)
    {
        if (reader.ValueTextEquals("requestMetadata"u8))
        {
            return Member.RequestMetadata;
        }

        switch (api)
        {
            case XksApi.Encrypt:
                if (reader.ValueTextEquals("plaintext"u8))
                {
                    return Member.Plaintext;
                }

                if (reader.ValueTextEquals("ciphertextDataIntegrityValueAlgorithm"u8))
                {
                    return Member.CdivAlgorithm;
                }

                break;
            case XksApi.Decrypt:
                if (reader.ValueTextEquals("ciphertext"u8))
                {
                    return Member.Ciphertext;
                }

                if (reader.ValueTextEquals("initializationVector"u8))
                {
                    return Member.InitializationVector;
                }

                if (reader.ValueTextEquals("authenticationTag"u8))
                {
                    return Member.AuthenticationTag;
                }

                if (reader.ValueTextEquals("ciphertextMetadata"u8))
                {
                    return Member.CiphertextMetadata;
                }

                break;
            default:
                return Member.Unknown;
        }

        if (reader.ValueTextEquals("encryptionAlgorithm"u8))
        {
            return Member.EncryptionAlgorithm;
        }

        if (reader.ValueTextEquals("additionalAuthenticatedData"u8))
        {
            return Member.AdditionalAuthenticatedData;
        }

        return Member.Unknown;
    }

    private static MetadataMember IdentifyMetadata(ref Utf8JsonReader reader)
    {
        if (reader.ValueTextEquals("kmsRequestId"u8))
        {
            return MetadataMember.KmsRequestId;
        }

        if (reader.ValueTextEquals("kmsOperation"u8))
        {
            return MetadataMember.KmsOperation;
        }

        if (reader.ValueTextEquals("awsPrincipalArn"u8))
        {
            return MetadataMember.AwsPrincipalArn;
        }

        if (reader.ValueTextEquals("kmsKeyArn"u8))
        {
            return MetadataMember.KmsKeyArn;
        }

        if (reader.ValueTextEquals("kmsViaService"u8))
        {
            return MetadataMember.KmsViaService;
        }

        if (reader.ValueTextEquals("awsSourceVpc"u8))
        {
            return MetadataMember.AwsSourceVpc;
        }

        if (reader.ValueTextEquals("awsSourceVpce"u8))
        {
            return MetadataMember.AwsSourceVpce;
        }

        return MetadataMember.Unknown;
    }

    private static string Name(Member member) => member switch
    {
        Member.RequestMetadata => "requestMetadata",
        Member.Plaintext => "plaintext",
        Member.EncryptionAlgorithm => "encryptionAlgorithm",
        Member.AdditionalAuthenticatedData => "additionalAuthenticatedData",
        Member.CdivAlgorithm => "ciphertextDataIntegrityValueAlgorithm",
        Member.Ciphertext => "ciphertext",
        Member.CiphertextMetadata => "ciphertextMetadata",
        Member.InitializationVector => "initializationVector",
        Member.AuthenticationTag => "authenticationTag",
        _ => "unknown",
    };

    private static string MetadataName(MetadataMember member) => member switch
    {
        MetadataMember.AwsPrincipalArn => "awsPrincipalArn",
        MetadataMember.AwsSourceVpc => "awsSourceVpc",
        MetadataMember.AwsSourceVpce => "awsSourceVpce",
        MetadataMember.KmsKeyArn => "kmsKeyArn",
        MetadataMember.KmsOperation => "kmsOperation",
        MetadataMember.KmsRequestId => "kmsRequestId",
        MetadataMember.KmsViaService => "kmsViaService",
        _ => "unknown",
    };
}
