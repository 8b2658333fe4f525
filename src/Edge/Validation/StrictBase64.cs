using System.Buffers;
using System.Buffers.Text;

namespace XksGrpc.Edge.Validation;

/// <summary>
/// Standard Base64 as the spec requires (RFC 4648 section 4, spec 1.0.2): only A-Z a-z 0-9 + /,
/// length a multiple of four, '=' padding only at the end, and unused bits zero (one canonical
/// encoding per value). Whitespace, the URL-safe alphabet and missing padding are refused.
/// </summary>
internal static class StrictBase64
{
    private static readonly SearchValues<byte> Alphabet =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"u8);

    /// <summary>Checks the text and returns how many bytes it decodes to, or -1 if it is not strict Base64.</summary>
    public static int DecodedLength(ReadOnlySpan<byte> utf8)
    {
        if (utf8.Length == 0)
        {
            return 0;
        }

        if ((utf8.Length & 3) != 0)
        {
            return -1;
        }

        var padding = utf8[^1] == '=' ? (utf8[^2] == '=' ? 2 : 1) : 0;
        var data = utf8[..^padding];
        if (data.IndexOfAnyExcept(Alphabet) >= 0)
        {
            return -1;
        }

        // The bits after the last full byte must be zero, else two texts would decode alike.
        if (padding == 1 && (Value(data[^1]) & 0x03) != 0)
        {
            return -1;
        }

        if (padding == 2 && (Value(data[^1]) & 0x0F) != 0)
        {
            return -1;
        }

        return utf8.Length / 4 * 3 - padding;
    }

    /// <summary>Decodes text already accepted by <see cref="DecodedLength"/> into exactly <paramref name="destination"/>.</summary>
    public static void Decode(ReadOnlySpan<byte> utf8, Span<byte> destination)
    {
        var status = Base64.DecodeFromUtf8(utf8, destination, out var consumed, out var written);
        if (status != OperationStatus.Done || consumed != utf8.Length || written != destination.Length)
        {
            throw new InvalidOperationException("Base64 text changed between validation and decoding.");
        }
    }

    /// <summary>Validates and decodes; null if the text is not strict Base64.</summary>
    public static byte[]? TryDecode(ReadOnlySpan<byte> utf8)
    {
        var length = DecodedLength(utf8);
        if (length < 0)
        {
            return null;
        }

        var bytes = length == 0 ? [] : new byte[length];
        Decode(utf8, bytes);
        return bytes;
    }

    private static int Value(byte c) => c switch
    {
        >= (byte)'A' and <= (byte)'Z' => c - 'A',
        >= (byte)'a' and <= (byte)'z' => c - 'a' + 26,
        >= (byte)'0' and <= (byte)'9' => c - '0' + 52,
        (byte)'+' => 62,
        _ => 63,
    };
}
