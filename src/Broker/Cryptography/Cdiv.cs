using System.Buffers;
using System.Security.Cryptography;

namespace XksGrpc.Broker.Cryptography;

/// <summary>
/// The Ciphertext Data Integrity Value (spec, Appendix C): SHA-256 over
/// <c>aad || ciphertextMetadata || initializationVector || ciphertext || authenticationTag</c>,
/// absent fields counting as empty, no lengths.
/// </summary>
internal static class Cdiv
{
    public const int Sha256Bytes = 32;

    public static byte[] ComputeSha256(
        ReadOnlySpan<byte> aad,
        ReadOnlySpan<byte> metadata,
        ReadOnlySpan<byte> iv,
        ReadOnlySpan<byte> ciphertext,
        ReadOnlySpan<byte> tag)
    {
        // One-shot hash over a pooled concatenation: cheaper than an incremental hash object per call.
        var length = aad.Length + metadata.Length + iv.Length + ciphertext.Length + tag.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            var span = buffer.AsSpan(0, length);
            aad.CopyTo(span);
            metadata.CopyTo(span[aad.Length..]);
            iv.CopyTo(span[(aad.Length + metadata.Length)..]);
            ciphertext.CopyTo(span[(aad.Length + metadata.Length + iv.Length)..]);
            tag.CopyTo(span[(length - tag.Length)..]);
            return SHA256.HashData(span);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
