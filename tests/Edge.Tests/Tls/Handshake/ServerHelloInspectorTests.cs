using XksGrpc.Edge.Tls.Handshake;
using static XksGrpc.Edge.Tests.Tls.Handshake.TlsBytes;

namespace XksGrpc.Edge.Tests.Tls.Handshake;

public sealed class ServerHelloInspectorTests
{
    [Fact]
    public void Append_Tls12ServerHelloWithoutExtensions_IsTls12()
    {
        var inspector = new ServerHelloInspector();

        inspector.Append(Record(TlsWire.Handshake, ServerHello(TlsWire.Tls12, supportedVersion: null)));

        Assert.True(inspector.IsComplete);
        Assert.Equal(TlsWire.Tls12, inspector.NegotiatedVersion);
    }

    [Fact]
    public void Append_ServerHelloSelectingTls13_IsTls13()
    {
        var inspector = new ServerHelloInspector();

        inspector.Append(Record(TlsWire.Handshake, ServerHello(TlsWire.Tls12, TlsWire.Tls13)));

        Assert.Equal(TlsWire.Tls13, inspector.NegotiatedVersion);
    }

    [Fact]
    public void Append_ServerHelloSplitAcrossWritesAndRecords_IsParsedWhenWhole()
    {
        var inspector = new ServerHelloInspector();
        byte[] message = ServerHello(TlsWire.Tls12, TlsWire.Tls12);
        byte[] bytes = Concat(Record(TlsWire.Handshake, message[..10]), Record(TlsWire.Handshake, message[10..]));

        inspector.Append(bytes.AsSpan(0, 12));
        bool earlyComplete = inspector.IsComplete;
        inspector.Append(bytes.AsSpan(12));

        Assert.False(earlyComplete);
        Assert.True(inspector.IsComplete);
        Assert.Equal(TlsWire.Tls12, inspector.NegotiatedVersion);
    }

    [Fact]
    public void Append_AlertInsteadOfServerHello_IsCompleteWithUnknownVersion()
    {
        var inspector = new ServerHelloInspector();

        inspector.Append(Record(TlsWire.Alert, [2, 70]));

        Assert.True(inspector.IsComplete);
        Assert.Equal(0, inspector.NegotiatedVersion);
    }

    [Fact]
    public void ParseVersion_TruncatedExtensions_IsUnknown()
    {
        byte[] message = ServerHello(TlsWire.Tls12, TlsWire.Tls13);

        Assert.Equal(0, ServerHelloInspector.ParseVersion(message.AsSpan(4, message.Length - 6)));
    }
}
