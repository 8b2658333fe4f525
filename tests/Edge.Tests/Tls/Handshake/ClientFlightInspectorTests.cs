using System.Buffers;
using System.Security.Cryptography.X509Certificates;
using XksGrpc.Edge.Tls.Handshake;
using static XksGrpc.Edge.Tests.Tls.Handshake.TlsBytes;

namespace XksGrpc.Edge.Tests.Tls.Handshake;

public sealed class ClientFlightInspectorTests
{
    private static readonly byte[] Leaf = SelfSignedDer("CN=cks.kms.us-east-1.amazonaws.com");
    private static readonly byte[] Intermediate = SelfSignedDer("CN=intermediate");

    private readonly List<(string Leaf, string[] Extra)> _validated = [];
    private bool _accept = true;
    private ushort _serverVersion = TlsWire.Tls12;

    [Fact]
    public void Inspect_ClientHello_IsForwardedAtOnce()
    {
        ClientFlightInspector inspector = NewInspector();

        InspectionStep step = inspector.Inspect(Sequence(ClientHello));

        Assert.Equal(new InspectionStep(ClientHello.Length, ClientHello.Length, GateVerdict.Continue, HandshakeRejection.None), step);
    }

    [Fact]
    public void Inspect_AcceptedFlightWithSeveralMessagesPerRecord_PassesThroughAtChangeCipherSpec()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));
        byte[] flight = Record(TlsWire.Handshake, Concat(CertificateMessage(Leaf, Intermediate), ClientKeyExchange, CertificateVerify));

        InspectionStep step = inspector.Inspect(Sequence(Concat(flight, ChangeCipherSpec, EncryptedFinished)));

        Assert.Equal(GateVerdict.PassThrough, step.Verdict);
        Assert.Equal(flight.Length, step.Boundary);
        Assert.False(inspector.Resumed);
        (string leaf, string[] extra) = Assert.Single(_validated);
        Assert.Equal("CN=cks.kms.us-east-1.amazonaws.com", leaf);
        Assert.Equal(["CN=intermediate"], extra);
    }

    [Fact]
    public void Inspect_CertificateFragmentedAcrossRecords_IsHeldUntilWholeThenValidatedOnce()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));
        byte[] message = CertificateMessage(Leaf, Intermediate);
        byte[] first = Record(TlsWire.Handshake, message.AsSpan(0, 3));
        byte[] second = Record(TlsWire.Handshake, message.AsSpan(3, 200));
        byte[] third = Record(TlsWire.Handshake, Concat(message[203..], ClientKeyExchange));

        InspectionStep held = inspector.Inspect(Sequence(Concat(first, second)));
        InspectionStep done = inspector.Inspect(Sequence(third));

        Assert.Equal(new InspectionStep(first.Length + second.Length, -1, GateVerdict.Continue, HandshakeRejection.None), held);
        Assert.Equal(new InspectionStep(third.Length, third.Length, GateVerdict.Continue, HandshakeRejection.None), done);
        Assert.Single(_validated);
    }

    [Fact]
    public void Inspect_RecordCutAcrossReads_ConsumesOnlyCompleteRecords()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));
        byte[] record = Record(TlsWire.Handshake, CertificateMessage(Leaf));

        InspectionStep header = inspector.Inspect(Sequence(record[..3]));
        InspectionStep partial = inspector.Inspect(Sequence(record[..100]));
        InspectionStep whole = inspector.Inspect(Sequence(record));

        Assert.Equal(new InspectionStep(0, -1, GateVerdict.Continue, HandshakeRejection.None), header);
        Assert.Equal(new InspectionStep(0, -1, GateVerdict.Continue, HandshakeRejection.None), partial);
        Assert.Equal(new InspectionStep(record.Length, record.Length, GateVerdict.Continue, HandshakeRejection.None), whole);
        Assert.Single(_validated);
    }

    [Fact]
    public void Inspect_MultiSegmentSequence_ParsesTheSameAsContiguous()
    {
        ClientFlightInspector inspector = NewInspector();
        byte[] all = Concat(ClientHello, Record(TlsWire.Handshake, Concat(CertificateMessage(Leaf), ClientKeyExchange)), ChangeCipherSpec);

        InspectionStep step = inspector.Inspect(Segmented(all, 7));

        Assert.Equal(GateVerdict.PassThrough, step.Verdict);
        Assert.Single(_validated);
    }

    [Fact]
    public void Inspect_EmptyCertificateMessage_IsNoCertificate()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(Record(TlsWire.Handshake, Concat(CertificateMessage(), ClientKeyExchange))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.NoCertificate), step);
        Assert.Empty(_validated);
    }

    [Fact]
    public void Inspect_ClientKeyExchangeWithoutCertificateMessage_IsNoCertificate()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(Record(TlsWire.Handshake, ClientKeyExchange)));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.NoCertificate), step);
    }

    [Fact]
    public void Inspect_CertificateTheValidatorRefuses_IsRejectedAndNamed()
    {
        _accept = false;
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(Record(TlsWire.Handshake, CertificateMessage(Leaf))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.CertificateRejected), step);
        Assert.Equal("CN=cks.kms.us-east-1.amazonaws.com", inspector.LeafSubject);
    }

    [Fact]
    public void Inspect_ValidatorThatThrows_IsRejected()
    {
        var inspector = new ClientFlightInspector((_, _) => throw new InvalidOperationException("boom"), () => TlsWire.Tls12);
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(Record(TlsWire.Handshake, CertificateMessage(Leaf))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.CertificateRejected), step);
        Assert.IsType<InvalidOperationException>(inspector.ValidatorException);
    }

    [Theory]
    [InlineData(new byte[] { 0, 0, 5, 0, 0, 2, 0x30, 0x00 })] // list length says 5, 5 bytes follow, but the entry is not DER
    [InlineData(new byte[] { 0, 0, 4, 0, 0, 9, 0x30 })] // entry longer than the list
    [InlineData(new byte[] { 0, 0, 9, 0, 0, 0 })] // list length disagrees with the body
    [InlineData(new byte[] { 0, 0 })] // too short for the list length
    public void Inspect_MalformedCertificateMessage_IsMalformedCertificate(byte[] body)
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(Record(TlsWire.Handshake, Message(TlsWire.Certificate, body))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.MalformedCertificate), step);
        Assert.Empty(_validated);
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("\u0016\u0002\u0000\u0000\u0005xxxxx")] // record version 2.0
    [InlineData("\u0016\u0003\u0003\u0000\u0000")] // zero-length handshake fragment
    [InlineData("\u0016\u0003\u0003\u0050\u0000")] // fragment longer than 2^14
    public void Inspect_Garbage_IsMalformedRecord(string garbage)
    {
        ClientFlightInspector inspector = NewInspector();

        InspectionStep step = inspector.Inspect(Sequence(garbage.Select(c => (byte)c).ToArray()));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.MalformedRecord), step);
    }

    [Fact]
    public void Inspect_HandshakeMessageLargerThanTheBound_IsFlightTooLarge()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        // Declares a 16 MiB Certificate message: refused from its header, without waiting for the bytes.
        InspectionStep step = inspector.Inspect(Sequence(Record(TlsWire.Handshake, [TlsWire.Certificate, 0xff, 0xff, 0xff, 0, 0])));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.FlightTooLarge), step);
    }

    [Fact]
    public void Inspect_PendingBytesBeyondTheBound_IsFlightTooLarge()
    {
        var inspector = new ClientFlightInspector(Validate, () => _serverVersion, maxPendingBytes: 1000);
        inspector.Inspect(Sequence(ClientHello));
        byte[] message = CertificateMessage(Leaf);

        // A message that fits the bound, arriving as many records, plus a large half-received record behind it.
        InspectionStep step = inspector.Inspect(Sequence(Concat(Record(TlsWire.Handshake, message[..50]), new byte[] { 22, 3, 3, 0x10, 0 }, Filler(990))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.FlightTooLarge), step);
    }

    [Fact]
    public void Inspect_ChangeCipherSpecWhenTheServerChoseTls13_IsNotTls12()
    {
        _serverVersion = TlsWire.Tls13;
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        // A TLS 1.3 client's middlebox-compatibility CCS, then its encrypted flight (certificate inside).
        InspectionStep step = inspector.Inspect(Sequence(Concat(ChangeCipherSpec, Record(23, Filler(300)))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.NotTls12), step);
    }

    [Fact]
    public void Inspect_ChangeCipherSpecBeforeTheServerHello_IsNotTls12()
    {
        _serverVersion = 0;
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(ChangeCipherSpec));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.NotTls12), step);
    }

    [Fact]
    public void Inspect_ApplicationDataBeforeChangeCipherSpec_IsUnexpected()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(Record(23, Filler(300))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.UnexpectedMessage), step);
    }

    [Fact]
    public void Inspect_SecondCertificateMessage_IsUnexpected()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(Record(TlsWire.Handshake, Concat(CertificateMessage(Leaf), CertificateMessage(Leaf)))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.UnexpectedMessage), step);
    }

    [Fact]
    public void Inspect_CertificateBeforeClientHello_IsUnexpected()
    {
        ClientFlightInspector inspector = NewInspector();

        InspectionStep step = inspector.Inspect(Sequence(Record(TlsWire.Handshake, CertificateMessage(Leaf))));

        Assert.Equal(InspectionStep.Reject(HandshakeRejection.UnexpectedMessage), step);
        Assert.Empty(_validated);
    }

    [Fact]
    public void Inspect_ChangeCipherSpecWithoutClientKeyExchange_IsAResumedSession()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));

        InspectionStep step = inspector.Inspect(Sequence(Concat(ChangeCipherSpec, EncryptedFinished)));

        Assert.Equal(GateVerdict.PassThrough, step.Verdict);
        Assert.True(inspector.Resumed);
        Assert.Empty(_validated);
    }

    [Fact]
    public void Inspect_ClientAlert_IsForwarded()
    {
        ClientFlightInspector inspector = NewInspector();
        inspector.Inspect(Sequence(ClientHello));
        byte[] alert = Record(TlsWire.Alert, [2, 48]);

        InspectionStep step = inspector.Inspect(Sequence(alert));

        Assert.Equal(new InspectionStep(alert.Length, alert.Length, GateVerdict.Continue, HandshakeRejection.None), step);
    }

    private static ReadOnlySequence<byte> Sequence(byte[] bytes) => new(bytes);

    private static ReadOnlySequence<byte> Segmented(byte[] bytes, int segmentLength)
    {
        var first = new Segment(bytes.AsMemory(0, Math.Min(segmentLength, bytes.Length)), 0);
        Segment last = first;
        for (int offset = segmentLength; offset < bytes.Length; offset += segmentLength)
        {
            last = last.Append(bytes.AsMemory(offset, Math.Min(segmentLength, bytes.Length - offset)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private ClientFlightInspector NewInspector() => new(Validate, () => _serverVersion);

    private bool Validate(X509Certificate2 leaf, X509Certificate2Collection extra)
    {
        _validated.Add((leaf.Subject, extra.Select(c => c.Subject).ToArray()));
        return _accept;
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
