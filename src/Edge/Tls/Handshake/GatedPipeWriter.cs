using System.IO.Pipelines;

namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>
/// The server-to-client side of the gate: shows the server's first bytes to a <see cref="ServerHelloInspector"/>,
/// then forwards every call (one volatile read added). After a rejection it drops whatever the TLS layer still
/// writes, so the client's last word from us is the handshake_failure alert.
/// </summary>
internal sealed class GatedPipeWriter : PipeWriter
{
    private readonly PipeWriter _inner;
    private readonly GatedTransport _owner;
    private readonly ServerHelloInspector _inspector;
    private bool _passThrough;
    private Memory<byte> _lastMemory;

    public GatedPipeWriter(PipeWriter inner, GatedTransport owner, ServerHelloInspector inspector)
    {
        _inner = inner;
        _owner = owner;
        _inspector = inspector;
    }

    public override bool CanGetUnflushedBytes => _inner.CanGetUnflushedBytes;

    public override long UnflushedBytes => _inner.UnflushedBytes;

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        Memory<byte> memory = _inner.GetMemory(sizeHint);
        if (!_passThrough)
        {
            _lastMemory = memory;
        }

        return memory;
    }

    public override Span<byte> GetSpan(int sizeHint = 0) =>
        _passThrough ? _inner.GetSpan(sizeHint) : GetMemory(sizeHint).Span;

    public override void Advance(int bytes)
    {
        if (_owner.IsRejected)
        {
            return;
        }

        if (!_passThrough)
        {
            Observe(_lastMemory.Span[..bytes]);
            _lastMemory = default;
        }

        _inner.Advance(bytes);
    }

    public override ValueTask<FlushResult> WriteAsync(ReadOnlyMemory<byte> source, CancellationToken cancellationToken = default)
    {
        if (_owner.IsRejected)
        {
            return new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false));
        }

        if (!_passThrough)
        {
            Observe(source.Span);
        }

        return _inner.WriteAsync(source, cancellationToken);
    }

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default) =>
        _owner.IsRejected
            ? new ValueTask<FlushResult>(new FlushResult(isCanceled: false, isCompleted: false))
            : _inner.FlushAsync(cancellationToken);

    public override void CancelPendingFlush() => _inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => _inner.Complete(exception);

    public override ValueTask CompleteAsync(Exception? exception = null) => _inner.CompleteAsync(exception);

    private void Observe(ReadOnlySpan<byte> written)
    {
        _inspector.Append(written);
        if (_inspector.IsComplete)
        {
            _passThrough = true;
        }
    }
}
