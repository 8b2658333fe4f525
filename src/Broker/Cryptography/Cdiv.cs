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
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(aad);
        hash.AppendData(metadata);
        hash.AppendData(iv);
        hash.AppendData(ciphertext);
        hash.AppendData(tag);
        return hash.GetHashAndReset();
    }
}
