namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>
/// The few TLS 1.2 wire constants the gate needs (RFC 5246 §6.2.1 record layer, §7.4 handshake
/// protocol, §7.2 alerts; RFC 8446 §4.2.1 supported_versions).
/// </summary>
internal static class TlsWire
{
    public const byte ChangeCipherSpec = 20;
    public const byte Alert = 21;
    public const byte Handshake = 22;

    public const byte ClientHello = 1;
    public const byte ServerHello = 2;
    public const byte Certificate = 11;
    public const byte CertificateVerify = 15;
    public const byte ClientKeyExchange = 16;

    public const int RecordHeaderLength = 5;
    public const int HandshakeHeaderLength = 4;

    /// <summary>TLSPlaintext.length MUST NOT exceed 2^14 (RFC 5246 §6.2.1).</summary>
    public const int MaxPlaintextFragment = 1 << 14;

    public const ushort Tls12 = 0x0303;
    public const ushort Tls13 = 0x0304;
    public const ushort SupportedVersionsExtension = 43;

    /// <summary>
    /// A plaintext record (TLS 1.2 record version) carrying a fatal (2) handshake_failure (40) alert.
    /// It is legal in plaintext because the server has not sent ChangeCipherSpec yet when the gate
    /// refuses the client's flight. curl prints it as "TLS alert, handshake failure".
    /// </summary>
    public static ReadOnlyMemory<byte> FatalHandshakeFailureAlert { get; } = new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 };

    public static int ReadUInt24(ReadOnlySpan<byte> span) => (span[0] << 16) | (span[1] << 8) | span[2];

    public static ushort ReadUInt16(ReadOnlySpan<byte> span) => (ushort)((span[0] << 8) | span[1]);
}
