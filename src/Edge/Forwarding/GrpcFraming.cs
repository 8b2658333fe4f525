using System.Buffers;
using System.Buffers.Binary;
using Google.Protobuf;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// gRPC's length-prefixed message framing (gRPC over HTTP/2, "Length-Prefixed-Message"):
/// one byte compressed-flag, four bytes big-endian length, then the protobuf message.
/// </summary>
internal static class GrpcFraming
{
    public const int HeaderLength = 5;

    /// <summary>Frames a message into a buffer rented from the shared pool; the caller returns it.</summary>
    public static byte[] Frame(IMessage message, out int length)
    {
        var size = message.CalculateSize();
        length = HeaderLength + size;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        buffer[0] = 0;
        BinaryPrimitives.WriteUInt32BigEndian(buffer.AsSpan(1, 4), (uint)size);
        message.WriteTo(buffer.AsSpan(HeaderLength, size));
        return buffer;
    }

    /// <summary>
    /// Reads the single message of a unary reply. Returns false (with a reason) for anything else:
    /// no frame, a compressed frame, a truncated frame or trailing bytes.
    /// </summary>
    public static bool TryReadSingle(ReadOnlySpan<byte> body, out ReadOnlySpan<byte> message, out string? problem)
    {
        message = default;
        if (body.Length < HeaderLength)
        {
            problem = "the reply carried no gRPC message";
            return false;
        }

        if (body[0] != 0)
        {
            problem = "the reply was compressed, which the edge never asks for";
            return false;
        }

        var length = BinaryPrimitives.ReadUInt32BigEndian(body.Slice(1, 4));
        if (length != (uint)(body.Length - HeaderLength))
        {
            problem = "the reply's gRPC frame length does not match its body";
            return false;
        }

        message = body[HeaderLength..];
        problem = null;
        return true;
    }
}
