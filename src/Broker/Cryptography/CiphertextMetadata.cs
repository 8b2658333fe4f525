using System.Buffers.Binary;

namespace XksGrpc.Broker.Cryptography;

/// <summary>
/// The broker's ciphertextMetadata (spec, Encrypt: "at most 20 bytes ... versioning of the key
/// material"): byte 0 names the AAD scheme, bytes 1-4 the key version, big-endian.
/// Scheme 1 is the spec's length-prefixed framing (<see cref="AadFraming"/>). Version 1 is the key
/// labelled <c>foo</c>, version N &gt; 1 the key labelled <c>foo#N</c> (design.md).
/// </summary>
internal static class CiphertextMetadata
{
    public const int MaxBytes = 20;
    public const byte SchemeLengthPrefixedAad = 0x01;
    public const int Length = 5;

    /// <summary>The 5 bytes naming scheme 1 and <paramref name="version"/>.</summary>
    public static byte[] Encode(uint version)
    {
        var bytes = new byte[Length];
        bytes[0] = SchemeLengthPrefixedAad;
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(1), version);
        return bytes;
    }

    /// <summary>
    /// Reads a metadata value made by <see cref="Encode"/>. False for any other length, an unknown
    /// scheme, or version 0: such a ciphertext was not made by this broker (InvalidCiphertext).
    /// </summary>
    public static bool TryDecode(ReadOnlySpan<byte> metadata, out uint version)
    {
        version = 0;
        if (metadata.Length != Length || metadata[0] != SchemeLengthPrefixedAad)
        {
            return false;
        }

        version = BinaryPrimitives.ReadUInt32BigEndian(metadata[1..]);
        return version != 0;
    }
}
