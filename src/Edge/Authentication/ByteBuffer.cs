using System.Buffers;
using System.Text;

namespace XksGrpc.Edge.Authentication;

/// <summary>
/// A growable byte writer for the SigV4 steps: starts on a caller-provided (usually stack) span and
/// moves to a pooled array only when a request is unusually large, so the hot path does not allocate.
/// </summary>
internal ref struct ByteBuffer
{
    private Span<byte> _span;
    private byte[]? _rented;
    private int _length;

    public ByteBuffer(Span<byte> initial)
    {
        _span = initial;
        _rented = null;
        _length = 0;
    }

    public readonly int Length => _length;

    public readonly ReadOnlySpan<byte> Written => _span[.._length];

    public void Append(byte value)
    {
        if (_length == _span.Length)
        {
            Grow(1);
        }

        _span[_length++] = value;
    }

    public void Append(ReadOnlySpan<byte> value)
    {
        EnsureCapacity(value.Length);
        value.CopyTo(_span[_length..]);
        _length += value.Length;
    }

    /// <summary>Appends text as UTF-8 (invalid UTF-16 becomes U+FFFD rather than throwing).</summary>
    public void AppendUtf8(ReadOnlySpan<char> value)
    {
        if (value.IsEmpty)
        {
            return;
        }

        EnsureCapacity(Encoding.UTF8.GetMaxByteCount(value.Length));
        _length += Encoding.UTF8.GetBytes(value, _span[_length..]);
    }

    /// <summary>Appends bytes as lowercase hexadecimal (SigV4's HexEncode).</summary>
    public void AppendLowerHex(ReadOnlySpan<byte> value)
    {
        EnsureCapacity(value.Length * 2);
        Hex.WriteLower(value, _span.Slice(_length, value.Length * 2));
        _length += value.Length * 2;
    }

    /// <summary>Appends '%' and two uppercase hex digits (RFC 3986 percent-encoding as SigV4 requires).</summary>
    public void AppendPercentEncoded(byte value)
    {
        EnsureCapacity(3);
        _span[_length] = (byte)'%';
        _span[_length + 1] = (byte)"0123456789ABCDEF"[value >> 4];
        _span[_length + 2] = (byte)"0123456789ABCDEF"[value & 0xF];
        _length += 3;
    }

    public readonly override string ToString() => Encoding.UTF8.GetString(Written);

    public void Dispose()
    {
        byte[]? rented = _rented;
        _rented = null;
        if (rented is not null)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void EnsureCapacity(int additional)
    {
        if (_span.Length - _length < additional)
        {
            Grow(additional);
        }
    }

    private void Grow(int additional)
    {
        int needed = checked(_length + additional);
        int size = Math.Max(needed, Math.Max(256, _span.Length * 2));
        byte[] next = ArrayPool<byte>.Shared.Rent(size);
        _span[.._length].CopyTo(next);
        byte[]? previous = _rented;
        _rented = next;
        _span = next;
        if (previous is not null)
        {
            ArrayPool<byte>.Shared.Return(previous);
        }
    }
}

/// <summary>Lowercase hex encoding and decoding on spans.</summary>
internal static class Hex
{
    public static void WriteLower(ReadOnlySpan<byte> value, Span<byte> destination)
    {
        for (int i = 0; i < value.Length; i++)
        {
            destination[2 * i] = (byte)"0123456789abcdef"[value[i] >> 4];
            destination[(2 * i) + 1] = (byte)"0123456789abcdef"[value[i] & 0xF];
        }
    }

    /// <summary>Decodes lowercase hex only (SigV4 signatures are lowercase); false on anything else.</summary>
    public static bool TryDecodeLower(ReadOnlySpan<char> hex, Span<byte> destination)
    {
        if (hex.Length != destination.Length * 2)
        {
            return false;
        }

        for (int i = 0; i < destination.Length; i++)
        {
            int hi = LowerNibble(hex[2 * i]);
            int lo = LowerNibble(hex[(2 * i) + 1]);
            if ((hi | lo) < 0)
            {
                return false;
            }

            destination[i] = (byte)((hi << 4) | lo);
        }

        return true;
    }

    private static int LowerNibble(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        _ => -1,
    };
}
