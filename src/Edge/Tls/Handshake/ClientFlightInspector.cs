using System.Buffers;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>What the gate may do with the bytes it has inspected so far.</summary>
internal enum GateVerdict
{
    /// <summary>Keep inspecting; forward bytes up to the boundary, hold the rest.</summary>
    Continue,

    /// <summary>The client sent ChangeCipherSpec after an accepted flight: forward everything from now on.</summary>
    PassThrough,

    /// <summary>Send the fatal alert and close; forward nothing more.</summary>
    Reject,
}

/// <summary>The result of one <see cref="ClientFlightInspector.Inspect"/> call.</summary>
/// <param name="Parsed">Bytes of complete records consumed from the input.</param>
/// <param name="Boundary">
/// Offset in the input up to which every byte may be forwarded (the end of the last record after which no
/// handshake message was left half-received), or -1 when this call found no new boundary.
/// </param>
internal readonly record struct InspectionStep(long Parsed, long Boundary, GateVerdict Verdict, HandshakeRejection Rejection)
{
    public static InspectionStep Reject(HandshakeRejection why) => new(0, -1, GateVerdict.Reject, why);
}

/// <summary>
/// Follows the client-to-server side of a TLS 1.2 handshake up to the client's ChangeCipherSpec
/// (RFC 5246 §7.3: ClientHello; then Certificate, ClientKeyExchange, CertificateVerify, ChangeCipherSpec).
/// Handshake messages are reassembled across records and split when several share a record
/// (RFC 5246 §6.2.1). The client's Certificate message is plaintext in TLS 1.2, so its chain is handed to the
/// validator before the TLS stack sees it. Fails closed: anything it does not understand is a rejection.
/// </summary>
internal sealed class ClientFlightInspector
{
    public const int DefaultMaxPendingBytes = 64 * 1024;

    private readonly Func<X509Certificate2, X509Certificate2Collection, bool> _validate;
    private readonly Func<ushort> _negotiatedVersion;
    private readonly int _maxPendingBytes;

    private byte[] _message = new byte[2048];
    private int _messageLength;
    private long _parsedSinceBoundary;
    private bool _sawClientHello;
    private bool _sawCertificate;
    private bool _certificateAccepted;
    private bool _sawClientKeyExchange;

    /// <param name="validate">The client certificate validator: leaf, then the other certificates the client sent.</param>
    /// <param name="negotiatedVersion">The version the server chose in its ServerHello, 0 while unknown.</param>
    /// <param name="maxPendingBytes">How many bytes may wait for a decision before the flight is refused.</param>
    public ClientFlightInspector(
        Func<X509Certificate2, X509Certificate2Collection, bool> validate,
        Func<ushort> negotiatedVersion,
        int maxPendingBytes = DefaultMaxPendingBytes)
    {
        _validate = validate;
        _negotiatedVersion = negotiatedVersion;
        _maxPendingBytes = maxPendingBytes;
    }

    /// <summary>True when the client finished an abbreviated handshake (RFC 5246 §7.3, session resumption).</summary>
    public bool Resumed { get; private set; }

    /// <summary>Subject of the last leaf certificate the gate saw; safe to log.</summary>
    public string? LeafSubject { get; private set; }

    /// <summary>SHA-1 thumbprint of that leaf; safe to log.</summary>
    public string? LeafThumbprint { get; private set; }

    /// <summary>Set when the validator threw; the certificate was then refused.</summary>
    public Exception? ValidatorException { get; private set; }

    /// <summary>
    /// Inspects bytes that follow everything already inspected. Consumes only complete records; the caller
    /// passes the unconsumed tail again, with more bytes behind it, on the next call.
    /// </summary>
    public InspectionStep Inspect(ReadOnlySequence<byte> input)
    {
        var reader = new SequenceReader<byte>(input);
        long boundary = -1;
        Span<byte> header = stackalloc byte[TlsWire.RecordHeaderLength];

        while (reader.TryCopyTo(header))
        {
            byte contentType = header[0];
            int length = TlsWire.ReadUInt16(header[3..]);

            // TLS 1.0-1.2 record versions only (ClientHello records commonly say 0x0301);
            // zero-length handshake/alert/CCS fragments are forbidden (RFC 5246 §6.2.1).
            if (header[1] != 3 || header[2] > 3 || length == 0 || length > TlsWire.MaxPlaintextFragment)
            {
                return InspectionStep.Reject(HandshakeRejection.MalformedRecord);
            }

            if (reader.Remaining < TlsWire.RecordHeaderLength + length)
            {
                break;
            }

            long recordStart = reader.Consumed;
            reader.Advance(TlsWire.RecordHeaderLength);
            ReadOnlySequence<byte> fragment = reader.UnreadSequence.Slice(0, length);
            reader.Advance(length);
            _parsedSinceBoundary += TlsWire.RecordHeaderLength + length;

            switch (contentType)
            {
                case TlsWire.Handshake:
                    if (_messageLength + length > _maxPendingBytes)
                    {
                        return InspectionStep.Reject(HandshakeRejection.FlightTooLarge);
                    }

                    Append(fragment);
                    HandshakeRejection rejection = ProcessMessages();
                    if (rejection != HandshakeRejection.None)
                    {
                        return InspectionStep.Reject(rejection);
                    }

                    break;

                case TlsWire.ChangeCipherSpec:
                    if (_messageLength != 0 || !_sawClientHello || (_sawCertificate && !_sawClientKeyExchange))
                    {
                        return InspectionStep.Reject(HandshakeRejection.UnexpectedMessage);
                    }

                    // A TLS 1.3 client sends a compatibility CCS before its encrypted Certificate: never let it through.
                    if (_negotiatedVersion() != TlsWire.Tls12)
                    {
                        return InspectionStep.Reject(HandshakeRejection.NotTls12);
                    }

                    // Without ClientKeyExchange this is an abbreviated handshake (the server resumed a session): there is
                    // no certificate to look at. Sessions made on this listener passed the gate. .NET shares its session
                    // cache between listeners with the same server certificate, so a session may come from elsewhere;
                    // the TLS stack's own ClientCertificateValidation runs again on resumption and refuses it (no alert).
                    Resumed = !_sawClientKeyExchange;
                    _message = []; // the connection lives on; its handshake buffer need not
                    return new InspectionStep(reader.Consumed, recordStart, GateVerdict.PassThrough, HandshakeRejection.None);

                case TlsWire.Alert:
                    // The client gives up (e.g. it does not trust the server): let the TLS stack see it.
                    if (_messageLength != 0)
                    {
                        return InspectionStep.Reject(HandshakeRejection.UnexpectedMessage);
                    }

                    break;

                default:
                    // Application data (or heartbeat, or anything else) before ChangeCipherSpec: encrypted
                    // TLS 1.3 traffic or garbage. Either way the gate cannot vouch for it.
                    return InspectionStep.Reject(HandshakeRejection.UnexpectedMessage);
            }

            if (_messageLength == 0)
            {
                boundary = reader.Consumed;
                _parsedSinceBoundary = 0;
            }
        }

        if (_parsedSinceBoundary + reader.Remaining > _maxPendingBytes)
        {
            return InspectionStep.Reject(HandshakeRejection.FlightTooLarge);
        }

        return new InspectionStep(reader.Consumed, boundary, GateVerdict.Continue, HandshakeRejection.None);
    }

    private void Append(ReadOnlySequence<byte> fragment)
    {
        int needed = _messageLength + (int)fragment.Length;
        if (needed > _message.Length)
        {
            Array.Resize(ref _message, Math.Min(Math.Max(needed, _message.Length * 2), _maxPendingBytes));
        }

        fragment.CopyTo(_message.AsSpan(_messageLength));
        _messageLength = needed;
    }

    private HandshakeRejection ProcessMessages()
    {
        int offset = 0;
        while (_messageLength - offset >= TlsWire.HandshakeHeaderLength)
        {
            int bodyLength = TlsWire.ReadUInt24(_message.AsSpan(offset + 1));
            if (TlsWire.HandshakeHeaderLength + bodyLength > _maxPendingBytes)
            {
                return HandshakeRejection.FlightTooLarge;
            }

            if (_messageLength - offset < TlsWire.HandshakeHeaderLength + bodyLength)
            {
                break;
            }

            HandshakeRejection rejection = OnMessage(
                _message[offset],
                _message.AsSpan(offset + TlsWire.HandshakeHeaderLength, bodyLength));
            if (rejection != HandshakeRejection.None)
            {
                return rejection;
            }

            offset += TlsWire.HandshakeHeaderLength + bodyLength;
        }

        if (offset > 0)
        {
            _message.AsSpan(offset, _messageLength - offset).CopyTo(_message);
            _messageLength -= offset;
        }

        return HandshakeRejection.None;
    }

    private HandshakeRejection OnMessage(byte type, ReadOnlySpan<byte> body)
    {
        switch (type)
        {
            case TlsWire.ClientHello when !_sawClientHello:
                _sawClientHello = true;
                return HandshakeRejection.None;

            case TlsWire.Certificate when _sawClientHello && !_sawCertificate && !_sawClientKeyExchange:
                _sawCertificate = true;
                HandshakeRejection rejection = ValidateCertificateMessage(body);
                _certificateAccepted = rejection == HandshakeRejection.None;
                return rejection;

            case TlsWire.ClientKeyExchange when _sawClientHello && !_sawClientKeyExchange:
                // The server always sends CertificateRequest (RequireCertificate), so a full handshake
                // without a client Certificate message is a client without a certificate.
                _sawClientKeyExchange = true;
                return _certificateAccepted ? HandshakeRejection.None : HandshakeRejection.NoCertificate;

            case TlsWire.CertificateVerify when _certificateAccepted && _sawClientKeyExchange:
                return HandshakeRejection.None;

            default:
                return HandshakeRejection.UnexpectedMessage;
        }
    }

    /// <summary>RFC 5246 §7.4.6: <c>opaque ASN.1Cert&lt;1..2^24-1&gt;; ASN.1Cert certificate_list&lt;0..2^24-1&gt;;</c>, leaf first.</summary>
    private HandshakeRejection ValidateCertificateMessage(ReadOnlySpan<byte> body)
    {
        if (body.Length < 3 || TlsWire.ReadUInt24(body) != body.Length - 3)
        {
            return HandshakeRejection.MalformedCertificate;
        }

        ReadOnlySpan<byte> list = body[3..];
        if (list.IsEmpty)
        {
            return HandshakeRejection.NoCertificate;
        }

        X509Certificate2? leaf = null;
        var extra = new X509Certificate2Collection();
        try
        {
            while (!list.IsEmpty)
            {
                if (list.Length < 3)
                {
                    return HandshakeRejection.MalformedCertificate;
                }

                int length = TlsWire.ReadUInt24(list);
                if (length == 0 || length > list.Length - 3)
                {
                    return HandshakeRejection.MalformedCertificate;
                }

                X509Certificate2 certificate;
                try
                {
                    certificate = X509CertificateLoader.LoadCertificate(list.Slice(3, length));
                }
                catch (CryptographicException)
                {
                    return HandshakeRejection.MalformedCertificate;
                }

                if (leaf is null)
                {
                    leaf = certificate;
                    LeafSubject = leaf.Subject;
                    LeafThumbprint = leaf.Thumbprint;
                }
                else
                {
                    extra.Add(certificate);
                }

                list = list[(3 + length)..];
            }

            bool accepted;
            try
            {
                accepted = _validate(leaf!, extra);
            }
            catch (Exception e)
            {
                ValidatorException = e;
                accepted = false;
            }

            return accepted ? HandshakeRejection.None : HandshakeRejection.CertificateRejected;
        }
        finally
        {
            leaf?.Dispose();
            foreach (X509Certificate2 certificate in extra)
            {
                certificate.Dispose();
            }
        }
    }
}
