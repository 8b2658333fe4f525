using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using XksGrpc.Edge.Tls.Handshake;
using static XksGrpc.Edge.Tests.Tls.Handshake.TlsBytes;

namespace XksGrpc.Edge.Tests.Tls.Handshake;

/// <summary>The gate between in-memory pipes: what the TLS layer would read, and what the client would receive.</summary>
public sealed class GatedTransportTests
{
    private static readonly byte[] Leaf = SelfSignedDer("CN=cks.kms.us-east-1.amazonaws.com");
    private static readonly byte[] ServerHelloTls12 = Record(TlsWire.Handshake, ServerHello(TlsWire.Tls12, null));

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private readonly Pipe _fromClient = new(new PipeOptions(pauseWriterThreshold: 0));
    private readonly Pipe _toClient = new();
    private readonly RecordingLogger _log = new();
    private bool _accept = true;

    [Fact]
    public async Task Input_HoldsTheFlightUntilTheCertificateIsWhole_ThenForwardsItUnchanged()
    {
        GatedTransport gate = NewGate();
        byte[] flight = Record(TlsWire.Handshake, Concat(CertificateMessage(Leaf), ClientKeyExchange));

        await _fromClient.Writer.WriteAsync(Concat(ClientHello, flight[..40]));
        byte[] first = await ReadAllAvailableAsync(gate.Input);
        await gate.Output.WriteAsync(ServerHelloTls12);
        await _fromClient.Writer.WriteAsync(Concat(flight[40..], ChangeCipherSpec, EncryptedFinished));
        byte[] second = await ReadAllAvailableAsync(gate.Input);

        Assert.Equal(ClientHello, first);
        Assert.Equal(Concat(flight, ChangeCipherSpec, EncryptedFinished), second);
        Assert.Equal(ServerHelloTls12, await ReadAllAvailableAsync(_toClient.Reader));
    }

    [Fact]
    public async Task Input_AfterChangeCipherSpec_PassesEverythingThrough()
    {
        GatedTransport gate = NewGate();
        await gate.Output.WriteAsync(ServerHelloTls12);
        await _fromClient.Writer.WriteAsync(Concat(ClientHello, Record(TlsWire.Handshake, Concat(CertificateMessage(Leaf), ClientKeyExchange)), ChangeCipherSpec));
        await ReadAllAvailableAsync(gate.Input);

        // Not TLS records at all: only a pass-through hands these over.
        byte[] appData = Filler(70000);
        await _fromClient.Writer.WriteAsync(appData);
        _fromClient.Writer.Complete();
        var received = new List<byte>();
        while (true)
        {
            ReadResult result = await gate.Input.ReadAsync().AsTask().WaitAsync(Patience);
            received.AddRange(result.Buffer.ToArray());
            gate.Input.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        Assert.Equal(appData, received);
    }

    [Fact]
    public async Task Input_OnRefusedCertificate_SendsTheAlertAndEndsTheStreamWithoutForwarding()
    {
        _accept = false;
        GatedTransport gate = NewGate();
        await _fromClient.Writer.WriteAsync(ClientHello);
        await ReadAllAvailableAsync(gate.Input);
        await gate.Output.WriteAsync(ServerHelloTls12);
        await ReadAllAvailableAsync(_toClient.Reader);

        await _fromClient.Writer.WriteAsync(Concat(Record(TlsWire.Handshake, Concat(CertificateMessage(Leaf), ClientKeyExchange)), ChangeCipherSpec));
        _fromClient.Writer.Complete(); // the client closes after the alert
        ReadResult result = await gate.Input.ReadAsync().AsTask().WaitAsync(Patience);
        gate.Input.AdvanceTo(result.Buffer.End);
        await gate.Output.WriteAsync(Filler(10)); // whatever the TLS layer says next is dropped

        Assert.True(result.IsCompleted);
        Assert.True(result.Buffer.IsEmpty);
        Assert.Equal(new byte[] { 0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28 }, await ReadAllAvailableAsync(_toClient.Reader));
        Assert.Contains(_log.Entries, e => e.Id.Id == 4100 && e.Level == LogLevel.Warning && e.Message.Contains("CertificateRejected", StringComparison.Ordinal));
        Assert.True((await gate.Input.ReadAsync()).IsCompleted);
    }

    [Fact]
    public async Task Input_WhenTheClientNeverCloses_GivesUpDrainingAfterATimeout()
    {
        GatedTransport gate = NewGate();
        await _fromClient.Writer.WriteAsync(Concat(ClientHello, Record(TlsWire.Handshake, ClientKeyExchange)));

        Task<ReadResult> read = ReadClientHelloThenNextAsync(gate.Input);
        Task winner = await Task.WhenAny(read, Task.Delay(Patience));

        Assert.Same(read, winner);
        Assert.True((await read).IsCompleted);
    }

    [Fact]
    public async Task Input_WhenTheClientLeavesMidFlight_EndsTheStreamWithoutTheHeldBytes()
    {
        GatedTransport gate = NewGate();
        await _fromClient.Writer.WriteAsync(Concat(ClientHello, Record(TlsWire.Handshake, CertificateMessage(Leaf))[..30]));
        _fromClient.Writer.Complete();

        byte[] forwarded = await ReadAllAvailableAsync(gate.Input);
        ReadResult end = await gate.Input.ReadAsync().AsTask().WaitAsync(Patience);

        Assert.Equal(ClientHello, forwarded);
        Assert.True(end.IsCompleted);
        Assert.True(end.Buffer.IsEmpty);
    }

    private static async Task<ReadResult> ReadClientHelloThenNextAsync(PipeReader input)
    {
        ReadResult hello = await input.ReadAsync();
        input.AdvanceTo(hello.Buffer.End);
        return await input.ReadAsync();
    }

    private static async Task<byte[]> ReadAllAvailableAsync(PipeReader reader)
    {
        ReadResult result = await reader.ReadAsync().AsTask().WaitAsync(Patience);
        byte[] bytes = result.Buffer.ToArray();
        reader.AdvanceTo(result.Buffer.End);
        return bytes;
    }

    private GatedTransport NewGate() =>
        new(new DuplexPipe(_fromClient.Reader, _toClient.Writer), (_, _) => _accept, _log, "test-connection");

    private sealed record DuplexPipe(PipeReader Input, PipeWriter Output) : IDuplexPipe;
}
