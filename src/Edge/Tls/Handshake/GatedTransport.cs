using System.IO.Pipelines;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>
/// The connection's transport as the TLS layer sees it once the gate is installed: the raw socket pipes,
/// with the client's handshake flight held back until its certificate is accepted.
/// </summary>
internal sealed class GatedTransport : IDuplexPipe
{
    private volatile bool _rejected;

    public GatedTransport(IDuplexPipe transport, Func<X509Certificate2, X509Certificate2Collection, bool> validate, ILogger logger, string connectionId)
    {
        RawOutput = transport.Output;
        Logger = logger;
        ConnectionId = connectionId;
        var serverHello = new ServerHelloInspector();
        Output = new GatedPipeWriter(transport.Output, this, serverHello);
        Input = new GatedPipeReader(transport.Input, this, new ClientFlightInspector(validate, () => serverHello.NegotiatedVersion));
    }

    public PipeReader Input { get; }

    public PipeWriter Output { get; }

    /// <summary>The socket's own writer, used for the alert.</summary>
    internal PipeWriter RawOutput { get; }

    internal ILogger Logger { get; }

    internal string ConnectionId { get; }

    internal bool IsRejected => _rejected;

    internal void MarkRejected() => _rejected = true;
}
