using System.Buffers.Binary;

namespace XksGrpc.Broker.Cryptography;

/// <summary>
/// The AAD given to the HSM (spec, Encrypt, ciphertextMetadata):
/// <c>len16BE(aad) || aad || len8(ciphertextMetadata) || ciphertextMetadata</c>.
/// Lengths keep an AAD/metadata swap from decrypting.
/// </summary>
internal static class AadFraming
{
    public const int MaxAadBytes = ushort.MaxValue;
    public const int MaxMetadataBytes = CiphertextMetadata.MaxBytes;

    public static int FramedLength(int aadLength, int metadataLength) => 2 + aadLength + 1 + metadataLength;

    /// <summary>The framed AAD as a new array.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> metadata)
    {
        var framed = new byte[FramedLength(aad.Length, metadata.Length)];
        Frame(aad, metadata, framed);
        return framed;
    }

    /// <summary>Writes the framed AAD into <paramref name="destination"/>.</summary>
    public static void Frame(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> metadata, Span<byte> destination)
    {
        if (aad.Length > MaxAadBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(aad), "The AAD does not fit a 16-bit length.");
        }

        if (metadata.Length > MaxMetadataBytes)
        {
            throw new ArgumentOutOfRangeException(nameof(metadata), "The ciphertextMetadata is over 20 bytes.");
        }

        BinaryPrimitives.WriteUInt16BigEndian(destination, (ushort)aad.Length);
        aad.CopyTo(destination[2..]);
        destination[2 + aad.Length] = (byte)metadata.Length;
        metadata.CopyTo(destination[(3 + aad.Length)..]);
    }
}
