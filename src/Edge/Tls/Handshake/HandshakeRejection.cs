namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>
/// Why the client certificate gate refused a handshake. Every value ends the same way: a fatal
/// handshake_failure alert and a closed connection (XKS spec, mutual TLS: the proxy "MUST terminate
/// the TLS handshake if the client presents a certificate containing a different subject name or
/// chained to a different certificate authority").
/// </summary>
internal enum HandshakeRejection
{
    None = 0,

    /// <summary>The client sent an empty Certificate message, or skipped it in a full handshake.</summary>
    NoCertificate,

    /// <summary>The validator said no (wrong CA, wrong subject, expired, ...), or threw.</summary>
    CertificateRejected,

    /// <summary>The Certificate message or one of its certificates does not parse.</summary>
    MalformedCertificate,

    /// <summary>A record header that is not a TLS 1.x plaintext record.</summary>
    MalformedRecord,

    /// <summary>A record type or handshake message that has no place before the client's ChangeCipherSpec.</summary>
    UnexpectedMessage,

    /// <summary>The server did not negotiate TLS 1.2, so the client's certificate would be encrypted and invisible to the gate.</summary>
    NotTls12,

    /// <summary>More than the gate's bound of handshake bytes is pending a decision.</summary>
    FlightTooLarge,

    /// <summary>A bug in the gate itself; refused rather than thrown into Kestrel.</summary>
    InternalError,
}
