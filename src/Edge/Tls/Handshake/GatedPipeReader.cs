using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Extensions.Logging;

namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>
/// The client-to-server side of the gate. While inspecting, it shows the TLS layer only the prefix of the
/// transport's buffer that the <see cref="ClientFlightInspector"/> has approved (no copy: a slice of the
/// transport's own buffer). After the client's ChangeCipherSpec it forwards every call unchanged.
/// </summary>
internal sealed class GatedPipeReader : PipeReader
{
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(2);
    private const long MaxDrainBytes = 256 * 1024;

    private readonly PipeReader _inner;
    private readonly GatedTransport _owner;
    private readonly ClientFlightInspector _inspector;

    private GateState _state;
    private long _approved;
    private long _inspected;
    private ReadOnlySequence<byte> _lastBuffer;

    public GatedPipeReader(PipeReader inner, GatedTransport owner, ClientFlightInspector inspector)
    {
        _inner = inner;
        _owner = owner;
        _inspector = inspector;
    }

    private enum GateState
    {
        Inspecting,
        PassThrough,
        Rejected,
    }

    public override ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default) =>
        _state == GateState.PassThrough ? _inner.ReadAsync(cancellationToken) : ReadInspectingAsync(cancellationToken);

    public override bool TryRead(out ReadResult result)
    {
        if (_state == GateState.PassThrough)
        {
            return _inner.TryRead(out result);
        }

        // Synchronous peeks are not worth the bookkeeping during the handshake; the TLS layer uses ReadAsync.
        result = default;
        return false;
    }

    public override void AdvanceTo(SequencePosition consumed) => AdvanceTo(consumed, consumed);

    public override void AdvanceTo(SequencePosition consumed, SequencePosition examined)
    {
        switch (_state)
        {
            case GateState.PassThrough:
                _inner.AdvanceTo(consumed, examined);
                return;

            case GateState.Rejected:
                // The gate already advanced the transport itself; the empty result it returned has no positions of the transport's.
                return;

            default:
                long consumedBytes = _lastBuffer.Slice(_lastBuffer.Start, consumed).Length;
                _approved -= consumedBytes;
                _inspected -= consumedBytes;
                _lastBuffer = default;
                _inner.AdvanceTo(consumed, examined);
                return;
        }
    }

    public override void CancelPendingRead() => _inner.CancelPendingRead();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    private async ValueTask<ReadResult> ReadInspectingAsync(CancellationToken cancellationToken)
    {
        if (_state == GateState.Rejected)
        {
            return new ReadResult(default, isCanceled: false, isCompleted: true);
        }

        while (true)
        {
            ReadResult result = await _inner.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;

            if (buffer.Length > _inspected)
            {
                InspectionStep step;
                try
                {
                    step = _inspector.Inspect(buffer.Slice(_inspected));
                }
                catch (Exception e)
                {
                    // Never throw into Kestrel: a gate bug refuses the connection instead.
                    ClientCertificateGateLog.GateFailed(_owner.Logger, _owner.ConnectionId, e);
                    step = InspectionStep.Reject(HandshakeRejection.InternalError);
                }

                if (step.Verdict == GateVerdict.Reject)
                {
                    _inner.AdvanceTo(buffer.End);
                    return await RejectAsync(step.Rejection, cancellationToken).ConfigureAwait(false);
                }

                if (step.Verdict == GateVerdict.PassThrough)
                {
                    _state = GateState.PassThrough;
                    _lastBuffer = default;
                    if (_inspector.Resumed)
                    {
                        ClientCertificateGateLog.SessionResumed(_owner.Logger, _owner.ConnectionId);
                    }

                    return result;
                }

                if (step.Boundary >= 0)
                {
                    _approved = _inspected + step.Boundary;
                }

                _inspected += step.Parsed;
            }

            if (_approved > 0 || result.IsCanceled)
            {
                _lastBuffer = buffer;
                return new ReadResult(buffer.Slice(0, _approved), result.IsCanceled, isCompleted: false);
            }

            if (result.IsCompleted)
            {
                // The client went away mid-flight: the TLS layer sees end of stream, never the held bytes.
                _lastBuffer = buffer;
                return new ReadResult(buffer.Slice(0, 0), isCanceled: false, isCompleted: true);
            }

            // Nothing approvable yet: wait for more bytes.
            _inner.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    private async ValueTask<ReadResult> RejectAsync(HandshakeRejection rejection, CancellationToken cancellationToken)
    {
        _state = GateState.Rejected;
        _owner.MarkRejected();
        ClientCertificateGateLog.HandshakeRefused(
            _owner.Logger, _owner.ConnectionId, rejection, _inspector.LeafSubject ?? "-", _inspector.LeafThumbprint ?? "-", _inspector.ValidatorException);

        try
        {
            await _owner.RawOutput.WriteAsync(TlsWire.FatalHandshakeFailureAlert, cancellationToken).ConfigureAwait(false);

            // Read what the client already sent (the rest of its flight) until it closes, so that closing our
            // socket does not turn into a TCP reset that could discard the alert before curl reads it.
            using var drain = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            drain.CancelAfter(DrainTimeout);
            long drained = 0;
            while (drained < MaxDrainBytes)
            {
                ReadResult result = await _inner.ReadAsync(drain.Token).ConfigureAwait(false);
                drained += result.Buffer.Length;
                _inner.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    break;
                }
            }
        }
        catch (Exception e)
        {
            // Timeout, reset or a disposed transport: the connection ends either way; never throw into Kestrel.
            ClientCertificateGateLog.AlertDeliveryIncomplete(_owner.Logger, _owner.ConnectionId, e.GetType().Name);
        }

        return new ReadResult(default, isCanceled: false, isCompleted: true);
    }
}
