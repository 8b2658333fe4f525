using System.Buffers;
using System.Security.Cryptography;
using System.Text.Json;
using XksGrpc.Bench.Cli;

namespace XksGrpc.Bench.Requests;

/// <summary>
/// XKS request bodies (spec: GetKeyMetadata, Encrypt, Decrypt request payloads), each with its
/// own kmsRequestId so logs and audit can tell them apart.
/// </summary>
internal static class RequestBodies
{
    public const string PrincipalArn = "arn:aws:iam::123456789012:user/bench";
    public const string KmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    /// <summary>KMS GenerateDataKey: a 64-byte plaintext (a data key plus KMS's own framing) and 32 bytes of AAD.</summary>
    public const int CdivPlaintextBytes = 64;
    public const int CdivAadBytes = 32;

    public static byte[] Metadata() => Write(w =>
    {
        WriteMetadata(w, "DescribeKey", withKeyArn: false);
    });

    public static byte[] Encrypt(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> aad, bool cdiv, string kmsOperation)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            WriteMetadata(w, kmsOperation, withKeyArn: true);
            if (!aad.IsEmpty)
            {
                w.WriteBase64String("additionalAuthenticatedData", aad);
            }

            w.WriteBase64String("plaintext", plaintext);
            w.WriteString("encryptionAlgorithm", "AES_GCM");
            if (cdiv)
            {
                w.WriteString("ciphertextDataIntegrityValueAlgorithm", "SHA_256");
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] Decrypt(ReadOnlySpan<byte> ciphertext, ReadOnlySpan<byte> ciphertextMetadata, ReadOnlySpan<byte> aad, ReadOnlySpan<byte> iv, ReadOnlySpan<byte> tag)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            WriteMetadata(w, "Decrypt", withKeyArn: true);
            if (!aad.IsEmpty)
            {
                w.WriteBase64String("additionalAuthenticatedData", aad);
            }

            w.WriteString("encryptionAlgorithm", "AES_GCM");
            w.WriteBase64String("ciphertext", ciphertext);
            if (!ciphertextMetadata.IsEmpty)
            {
                w.WriteBase64String("ciphertextMetadata", ciphertextMetadata);
            }

            w.WriteBase64String("initializationVector", iv);
            w.WriteBase64String("authenticationTag", tag);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>The body for an encrypt of the given scenario with fresh random inputs.</summary>
    public static byte[] RandomEncrypt(string scenario, out byte[] plaintext, out byte[] aad)
    {
        plaintext = RandomNumberGenerator.GetBytes(CdivPlaintextBytes);
        bool cdiv = scenario == Scenarios.EncryptCdiv;
        aad = cdiv ? RandomNumberGenerator.GetBytes(CdivAadBytes) : [];
        return Encrypt(plaintext, aad, cdiv, cdiv ? "GenerateDataKey" : "Encrypt");
    }

    private static byte[] Write(Action<Utf8JsonWriter> body)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            body(w);
            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteMetadata(Utf8JsonWriter w, string kmsOperation, bool withKeyArn)
    {
        w.WriteStartObject("requestMetadata");
        w.WriteString("awsPrincipalArn", PrincipalArn);
        if (withKeyArn)
        {
            w.WriteString("kmsKeyArn", KmsKeyArn);
        }

        w.WriteString("kmsOperation", kmsOperation);
        w.WriteString("kmsRequestId", Guid.NewGuid().ToString());
        w.WriteEndObject();
    }
}
