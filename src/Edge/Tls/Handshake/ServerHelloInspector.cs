namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>
/// Reads the server's first handshake message to learn the negotiated protocol version: the ServerHello's
/// version field (RFC 5246 §7.4.1.3), overridden by its supported_versions extension when present
/// (RFC 8446 §4.2.1). The client gate lets the client's ChangeCipherSpec through only when this says TLS 1.2,
/// because with TLS 1.3 the client's certificate travels encrypted and the gate could not see it.
/// </summary>
internal sealed class ServerHelloInspector
{
    private const int MaxBufferedBytes = 64 * 1024;

    private byte[] _written = new byte[1024];
    private int _writtenLength;
    private int _negotiatedVersion;

    /// <summary>True once the version is known or can no longer be learned; the writer then stops calling.</summary>
    public bool IsComplete { get; private set; }

    /// <summary>The negotiated version (0x0303 for TLS 1.2), or 0 when unknown. Read from the client side.</summary>
    public ushort NegotiatedVersion => (ushort)Volatile.Read(ref _negotiatedVersion);

    /// <summary>Takes the next bytes the server writes to the client.</summary>
    public void Append(ReadOnlySpan<byte> written)
    {
        if (IsComplete || written.IsEmpty)
        {
            return;
        }

        if (_writtenLength + written.Length > MaxBufferedBytes)
        {
            Finish(0);
            return;
        }

        if (_writtenLength + written.Length > _written.Length)
        {
            Array.Resize(ref _written, Math.Min(Math.Max(_writtenLength + written.Length, _written.Length * 2), MaxBufferedBytes));
        }

        written.CopyTo(_written.AsSpan(_writtenLength));
        _writtenLength += written.Length;
        TryParse();
    }

    private void TryParse()
    {
        // Re-parsed from the start on each write: the ServerHello is small and usually arrives in one write.
        ReadOnlySpan<byte> records = _written.AsSpan(0, _writtenLength);
        byte[]? messageBuffer = null;
        int messageLength = 0;

        while (records.Length >= TlsWire.RecordHeaderLength)
        {
            int length = TlsWire.ReadUInt16(records[3..]);
            if (records.Length < TlsWire.RecordHeaderLength + length)
            {
                return;
            }

            if (records[0] != TlsWire.Handshake)
            {
                // An alert (e.g. protocol_version) or anything else first: there is no TLS 1.2 handshake to allow.
                Finish(0);
                return;
            }

            ReadOnlySpan<byte> fragment = records.Slice(TlsWire.RecordHeaderLength, length);
            messageBuffer ??= new byte[_writtenLength];
            fragment.CopyTo(messageBuffer.AsSpan(messageLength));
            messageLength += length;
            records = records[(TlsWire.RecordHeaderLength + length)..];

            if (messageLength >= TlsWire.HandshakeHeaderLength)
            {
                if (messageBuffer[0] != TlsWire.ServerHello)
                {
                    Finish(0);
                    return;
                }

                int bodyLength = TlsWire.ReadUInt24(messageBuffer.AsSpan(1));
                if (messageLength >= TlsWire.HandshakeHeaderLength + bodyLength)
                {
                    Finish(ParseVersion(messageBuffer.AsSpan(TlsWire.HandshakeHeaderLength, bodyLength)));
                    return;
                }
            }
        }
    }

    internal static ushort ParseVersion(ReadOnlySpan<byte> body)
    {
        // version(2) random(32) session_id<0..32> cipher_suite(2) compression_method(1) extensions<0..2^16-1>
        if (body.Length < 35)
        {
            return 0;
        }

        ushort legacyVersion = TlsWire.ReadUInt16(body);
        int position = 34;
        position += 1 + body[position];
        position += 2 + 1;
        if (position > body.Length)
        {
            return 0;
        }

        if (position == body.Length)
        {
            return legacyVersion;
        }

        if (position + 2 > body.Length)
        {
            return 0;
        }

        int end = position + 2 + TlsWire.ReadUInt16(body[position..]);
        position += 2;
        if (end > body.Length)
        {
            return 0;
        }

        while (position + 4 <= end)
        {
            ushort type = TlsWire.ReadUInt16(body[position..]);
            int length = TlsWire.ReadUInt16(body[(position + 2)..]);
            position += 4;
            if (position + length > end)
            {
                return 0;
            }

            if (type == TlsWire.SupportedVersionsExtension)
            {
                return length == 2 ? TlsWire.ReadUInt16(body[position..]) : (ushort)0;
            }

            position += length;
        }

        return legacyVersion;
    }

    private void Finish(ushort version)
    {
        Volatile.Write(ref _negotiatedVersion, version);
        IsComplete = true;
        _written = [];
        _writtenLength = 0;
    }
}
