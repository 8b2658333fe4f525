using System.Buffers;
using System.Text.Json;
using System.Threading.Channels;

namespace XksGrpc.Edge.Audit;

/// <summary>How hard the audit writer pushes each batch to storage.</summary>
internal enum AuditDurability
{
    /// <summary>Hand each batch to the OS (<c>Flush()</c>): survives a process crash, not a power loss.</summary>
    OsBuffer,

    /// <summary>fsync each batch (<c>Flush(flushToDisk: true)</c>): survives a power loss; costs one sync per batch.</summary>
    FlushToDisk,
}

/// <summary>Tuning for <see cref="AuditLog"/>; the defaults suit the edge.</summary>
internal sealed class AuditLogOptions
{
    /// <summary>Records that may wait for the writer before appends start to block.</summary>
    public int Capacity { get; init; } = 8192;

    /// <summary>How long an append waits for room in a full queue before the record is dropped (and counted).</summary>
    public TimeSpan BlockTimeout { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Most records written between two flushes.</summary>
    public int MaxBatch { get; init; } = 512;

    /// <summary>
    /// After a flush, how long the writer lets new records gather before it writes again (group commit).
    /// Under load it wakes once per interval instead of once per record; an idle log's writer sleeps until
    /// the next record. Zero: write as soon as a record arrives.
    /// </summary>
    public TimeSpan GatherDelay { get; init; } = TimeSpan.FromMilliseconds(10);

    public AuditDurability Durability { get; init; } = AuditDurability.FlushToDisk;

    /// <summary>Tests only: the writer waits for this before its first write, so back-pressure is deterministic.</summary>
    internal Task? WriterStartGate { get; init; }

    /// <summary>Tests only: called on the writer's thread before each flush.</summary>
    internal Action? BeforeFlush { get; init; }
}

/// <summary>
/// The tamper-evident audit log (spec "Logging": log request metadata, processing time and outcome, and
/// "appropriate measures must be used to ensure the integrity of the logs"; issue 5). Appends one hash-chained
/// JSON record per XKS request to a file (format: <see cref="AuditRecordFormat"/>).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><b>Hot path.</b> <see cref="AppendAsync"/> only stamps the time and enqueues on a bounded channel;
/// one writer thread assigns <c>seq</c>, chains, writes and flushes in batches, so file order = seq order.
/// The writer is a dedicated thread, not a thread-pool task: an fsync blocks for milliseconds (tens on a busy
/// disk), and on a small machine a pool thread stuck in it delays every request queued behind it.</item>
/// <item><b>Back-pressure.</b> When the queue is full an append waits up to <see cref="AuditLogOptions.BlockTimeout"/>,
/// then drops the record and counts it in <see cref="Dropped"/> (alarm on it): a stuck disk must not stop key
/// operations. A dropped record leaves no gap in the chain; the counter is the evidence.</item>
/// <item><b>Restarts.</b> Opening an existing file continues its chain: the last line's hash becomes the next
/// <c>prev</c> and its seq + 1 the next seq. A file whose last line is torn or invalid is refused (fail closed:
/// run <c>audit verify</c> and move it aside).</item>
/// <item><b>File.</b> Opened with FileMode.Append and FileShare.Read (readers only), created 0640 on Unix. One
/// writer per file, enforced by an exclusive lock on <c>&lt;file&gt;.lock</c>.</item>
/// <item><b>Failures.</b> An I/O error faults the log: later records are dropped and counted, <see cref="LastError"/>
/// says why, and <see cref="Faulted"/> turns true (report it as unhealthy).</item>
/// </list>
/// </remarks>
internal sealed class AuditLog : IAsyncDisposable
{
    private const int TailWindow = 64 * 1024;

    private readonly Channel<Item> _queue;
    private readonly FileStream _file;
    private readonly FileStream _writerLock;
    private readonly AuditLogOptions _options;
    private readonly TimeProvider _clock;
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _seq;
    private string _prev;
    private long _written;
    private long _dropped;
    private volatile bool _faulted;
    private volatile string? _lastError;

    private AuditLog(string path, FileStream file, FileStream writerLock, long lastSeq, string prev, AuditLogOptions options, TimeProvider clock)
    {
        FilePath = path;
        _file = file;
        _writerLock = writerLock;
        _seq = lastSeq;
        _prev = prev;
        _options = options;
        _clock = clock;
        _queue = Channel.CreateBounded<Item>(new BoundedChannelOptions(options.Capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
        });
        new Thread(WriteLoop) { IsBackground = true, Name = "XksGrpc audit" }.Start();
    }

    public string FilePath { get; }

    /// <summary>Records written to the file since open.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Records lost since open: queue full past the block timeout, or the log faulted.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>True after an I/O error: nothing more is written.</summary>
    public bool Faulted => _faulted;

    public string? LastError => _lastError;

    /// <summary>The seq of the last record written (0 for an empty file).</summary>
    public long LastSeq => Interlocked.Read(ref _seq);

    /// <summary>The chain hash of the last record written: log it now and then as an anchor (see AuditVerifier).</summary>
    public string HeadHash => Volatile.Read(ref _prev);

    /// <summary>Opens (creating if needed) the audit file and starts the writer.</summary>
    /// <exception cref="InvalidDataException">The existing file does not end with a complete, valid record.</exception>
    public static AuditLog Open(string path, AuditLogOptions? options = null, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new AuditLogOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatch, 1);
        string full = Path.GetFullPath(path);
        var streamOptions = new FileStreamOptions
        {
            Mode = FileMode.Append,
            Access = FileAccess.Write,
            Share = FileShare.Read,
            BufferSize = 64 * 1024,
        };
        if (!OperatingSystem.IsWindows())
        {
            streamOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead;
        }

        FileStream writerLock = AcquireWriterLock(full);
        FileStream? file = null;
        try
        {
            file = new FileStream(full, streamOptions);
            (long seq, string prev) = ReadTail(full);
            return new AuditLog(full, file, writerLock, seq, prev, options, timeProvider ?? TimeProvider.System);
        }
        catch
        {
            file?.Dispose();
            writerLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Queues one record. Completes synchronously unless the queue is full; then waits up to the block
    /// timeout. Returns false when the record was dropped (counted in <see cref="Dropped"/>).
    /// </summary>
    public ValueTask<bool> AppendAsync(AuditEvent auditEvent, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(auditEvent);
        if (_faulted)
        {
            Interlocked.Increment(ref _dropped);
            return ValueTask.FromResult(false);
        }

        var item = new Item(auditEvent, _clock.GetUtcNow(), null);
        return _queue.Writer.TryWrite(item) ? ValueTask.FromResult(true) : AppendSlowAsync(item, cancellationToken);
    }

    /// <summary>Completes when every record queued before the call is written and flushed.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var barrier = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_queue.Writer.TryWrite(new Item(null, default, barrier)))
        {
            await _queue.Writer.WriteAsync(new Item(null, default, barrier), cancellationToken).ConfigureAwait(false);
        }

        await barrier.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes what is queued, then closes the file.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _writerDone.Task.ConfigureAwait(false);
        await _file.DisposeAsync().ConfigureAwait(false);
        await _writerLock.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Two writers would interleave two chains. FileShare on the log itself cannot stop that on Unix (a shared
    /// lock for FileShare.Read), so an exclusive lock on a sidecar <c>&lt;file&gt;.lock</c> guards it; readers
    /// of the log are unaffected.
    /// </summary>
    private static FileStream AcquireWriterLock(string path)
    {
        try
        {
            return new FileStream(path + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new InvalidOperationException($"The audit log {path} is already open for writing by another process or instance ({path}.lock is locked).", ex);
        }
    }

    private async ValueTask<bool> AppendSlowAsync(Item item, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.BlockTimeout);
        try
        {
            await _queue.Writer.WriteAsync(item, timeout.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
        catch (ChannelClosedException)
        {
            Interlocked.Increment(ref _dropped);
            return false;
        }
    }

    private void WriteLoop()
    {
        try
        {
            DrainQueue();
            _writerDone.TrySetResult();
        }
        catch (Exception ex)
        {
            // Not expected (I/O errors fault the log instead); DisposeAsync rethrows it.
            Fault($"the audit writer stopped: {ex.GetType().Name}");
            _writerDone.TrySetException(ex);
        }
    }

    private void DrainQueue()
    {
        var buffer = new ArrayBufferWriter<byte>(16 * 1024);
        var barriers = new List<TaskCompletionSource>();
        ChannelReader<Item> reader = _queue.Reader;
        _options.WriterStartGate?.GetAwaiter().GetResult();

        while (WaitToRead(reader))
        {
            int batch = 0;
            while (batch < _options.MaxBatch && reader.TryRead(out Item item))
            {
                if (item.Barrier is not null)
                {
                    barriers.Add(item.Barrier);
                }
                else if (_faulted)
                {
                    Interlocked.Increment(ref _dropped);
                }
                else
                {
                    batch++;
                    WriteRecord(buffer, item);
                }
            }

            if (batch > 0 && !_faulted)
            {
                Flush();
            }

            foreach (TaskCompletionSource barrier in barriers)
            {
                barrier.TrySetResult();
            }

            barriers.Clear();
            if (batch > 0 && batch < _options.MaxBatch && _options.GatherDelay > TimeSpan.Zero)
            {
                Thread.Sleep(_options.GatherDelay);
            }
        }
    }

    /// <summary>
    /// Blocks the writer thread until a record is queued (true) or the queue is completed (false). Waits on
    /// the task's wait handle rather than Task.Wait, which spins (sched_yield) before it blocks.
    /// </summary>
    private static bool WaitToRead(ChannelReader<Item> reader)
    {
        ValueTask<bool> wait = reader.WaitToReadAsync();
        if (wait.IsCompletedSuccessfully)
        {
            return wait.Result;
        }

        Task<bool> pending = wait.AsTask();
        ((IAsyncResult)pending).AsyncWaitHandle.WaitOne();
        return pending.GetAwaiter().GetResult();
    }

    private void WriteRecord(ArrayBufferWriter<byte> buffer, Item item)
    {
        buffer.ResetWrittenCount();
        long seq = _seq + 1;
        string next;
        try
        {
            next = AuditRecordFormat.Write(buffer, seq, item.Time, item.Event!, _prev);
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            // Not expected (values are sanitized); never let one record stop the writer.
            _lastError = $"an audit record could not be serialized: {ex.GetType().Name}";
            Interlocked.Increment(ref _dropped);
            return;
        }

        try
        {
            _file.Write(buffer.WrittenSpan);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Fault(ex);
            Interlocked.Increment(ref _dropped);
            return;
        }

        Volatile.Write(ref _prev, next);
        Interlocked.Exchange(ref _seq, seq);
        Interlocked.Increment(ref _written);
    }

    private void Flush()
    {
        _options.BeforeFlush?.Invoke();
        try
        {
            _file.Flush(flushToDisk: _options.Durability == AuditDurability.FlushToDisk);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException)
        {
            Fault(ex);
        }
    }

    private void Fault(Exception ex) => Fault($"writing {FilePath} failed: {ex.Message}");

    private void Fault(string reason)
    {
        _lastError = reason;
        _faulted = true;
    }

    /// <summary>Reads the last record of an existing file: its seq and chain hash.</summary>
    private static (long Seq, string Prev) ReadTail(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        long length = stream.Length;
        if (length == 0)
        {
            return (0, AuditRecordFormat.Genesis);
        }

        stream.Seek(-1, SeekOrigin.End);
        if (stream.ReadByte() != '\n')
        {
            throw new InvalidDataException(
                $"The audit log {path} ends with a partial record (no final newline): a write was interrupted or the file was truncated. Run 'audit verify --file {path}' and move the file aside.");
        }

        // Find the start of the last line, widening the window for unusually long lines.
        for (int window = TailWindow; ; window *= 2)
        {
            int size = (int)Math.Min(window, length);
            byte[] tail = new byte[size];
            stream.Seek(length - size, SeekOrigin.Begin);
            stream.ReadExactly(tail);
            ReadOnlySpan<byte> body = tail.AsSpan(0, size - 1);
            int newline = body.LastIndexOf((byte)'\n');
            if (newline < 0 && size < length)
            {
                continue;
            }

            ReadOnlySpan<byte> line = body[(newline + 1)..];
            if (!AuditRecordFormat.HasValidSelfHash(line) || !TryReadSeq(line, out long seq))
            {
                throw new InvalidDataException(
                    $"The audit log {path} ends with an invalid record: it was edited or damaged. Run 'audit verify --file {path}' and move the file aside.");
            }

            return (seq, AuditRecordFormat.LineHash(line));
        }
    }

    private static bool TryReadSeq(ReadOnlySpan<byte> line, out long seq)
    {
        seq = 0;
        try
        {
            var reader = new Utf8JsonReader(line);
            return reader.Read() && reader.TokenType == JsonTokenType.StartObject
                && reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("seq"u8)
                && reader.Read() && reader.TryGetInt64(out seq) && seq > 0;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private readonly record struct Item(AuditEvent? Event, DateTimeOffset Time, TaskCompletionSource? Barrier);
}
