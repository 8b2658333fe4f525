using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using XksGrpc.Edge.Tls.Handshake;

namespace XksGrpc.Edge.Tests.Tls.Handshake;

/// <summary>Builds TLS 1.2 records and handshake messages (RFC 5246 §6.2.1, §7.4) for parser tests.</summary>
internal static class TlsBytes
{
    public static byte[] Record(byte contentType, ReadOnlySpan<byte> fragment) =>
        [contentType, 3, 3, (byte)(fragment.Length >> 8), (byte)fragment.Length, .. fragment];

    public static byte[] Message(byte handshakeType, ReadOnlySpan<byte> body) =>
        [handshakeType, (byte)(body.Length >> 16), (byte)(body.Length >> 8), (byte)body.Length, .. body];

    public static byte[] CertificateMessage(params byte[][] ders)
    {
        byte[] list = ders.SelectMany(d => new byte[] { (byte)(d.Length >> 16), (byte)(d.Length >> 8), (byte)d.Length }.Concat(d)).ToArray();
        return Message(TlsWire.Certificate, [(byte)(list.Length >> 16), (byte)(list.Length >> 8), (byte)list.Length, .. list]);
    }

    /// <summary>Opaque bodies: the gate does not look inside ClientHello, ClientKeyExchange or CertificateVerify.</summary>
    public static byte[] ClientHello { get; } = Record(TlsWire.Handshake, Message(TlsWire.ClientHello, Filler(120)));

    public static byte[] ClientKeyExchange { get; } = Message(TlsWire.ClientKeyExchange, Filler(66));

    public static byte[] CertificateVerify { get; } = Message(TlsWire.CertificateVerify, Filler(72));

    public static byte[] ChangeCipherSpec { get; } = Record(TlsWire.ChangeCipherSpec, [1]);

    /// <summary>An encrypted Finished record: opaque to the gate.</summary>
    public static byte[] EncryptedFinished { get; } = Record(TlsWire.Handshake, Filler(40));

    /// <summary>ServerHello body (RFC 5246 §7.4.1.3), optionally with a supported_versions extension (RFC 8446 §4.2.1).</summary>
    public static byte[] ServerHello(ushort legacyVersion, ushort? supportedVersion)
    {
        var body = new List<byte> { (byte)(legacyVersion >> 8), (byte)legacyVersion };
        body.AddRange(Filler(32));
        body.Add(0);
        body.AddRange([0xc0, 0x2c, 0]);
        if (supportedVersion is ushort v)
        {
            // renegotiation_info (empty), then supported_versions.
            byte[] extensions = [0xff, 0x01, 0, 1, 0, 0, 43, 0, 2, (byte)(v >> 8), (byte)v];
            body.AddRange([0, (byte)extensions.Length, .. extensions]);
        }

        return Message(TlsWire.ServerHello, body.ToArray());
    }

    public static byte[] Filler(int length) => Enumerable.Range(0, length).Select(i => (byte)(i * 7)).ToArray();

    public static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    public static byte[] SelfSignedDer(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        using X509Certificate2 certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return certificate.RawData;
    }
}
