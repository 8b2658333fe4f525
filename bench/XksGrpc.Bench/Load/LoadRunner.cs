using System.Buffers;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using XksGrpc.Bench.Cli;
using XksGrpc.Bench.Measurement;
using XksGrpc.Bench.Requests;
using XksGrpc.Bench.Target;

namespace XksGrpc.Bench.Load;

/// <summary>The outcome of one run.</summary>
internal sealed class RunResult
{
    public required string Target { get; init; }

    public required RunSpec Spec { get; init; }

    /// <summary>Successful (2xx) responses to requests started in the measured window.</summary>
    public required long Ok { get; init; }

    public required double Seconds { get; init; }

    /// <summary>Latency of the successful measured requests (closed loop: from send; open loop: from the intended send time).</summary>
    public required LatencyHistogram Latency { get; init; }

    /// <summary>Errors by "status errorName" or "transport: reason", over the whole run including warm-up.</summary>
    public required IReadOnlyList<KeyValuePair<string, long>> Errors { get; init; }

    /// <summary>Open loop: the latest the generator itself sent a request after its intended time.</summary>
    public long MaxSendLagMicros { get; init; }

    /// <summary>Open loop: requests sent more than 1 ms after their intended time (a generator, not server, problem).</summary>
    public long LateSends { get; init; }

    public MemoryTrace? Memory { get; init; }

    /// <summary>The mix: latency of the successful measured requests per operation.</summary>
    public IReadOnlyDictionary<string, LatencyHistogram>? ByOperation { get; init; }

    /// <summary>CPU the generator itself used during the run, in cores (1.0 = one core busy); shows when the generator, not the server, is the limit.</summary>
    public double GeneratorCores { get; init; }

    public double RequestsPerSecond => Seconds > 0 ? Ok / Seconds : 0;

    public long ErrorCount => Errors.Sum(e => e.Value);
}

/// <summary>
/// Drives one run: closed loop (N workers, one request in flight each, on N keep-alive
/// connections) or open loop (requests sent at their scheduled times whatever the server does,
/// latency measured from the scheduled time so a stalled server is not hidden: no coordinated omission).
/// </summary>
internal sealed class LoadRunner
{
    private static readonly long TicksPerMs = Stopwatch.Frequency / 1000;

    private readonly XksTarget _target;
    private readonly RequestPool _pool;
    private readonly RunSpec _spec;
    private readonly BenchOptions _options;
    private readonly ProcessMemory _memory;
    private readonly Version _version;
    private readonly string _host;
    private readonly bool _prefixOp;

    private readonly LatencyHistogram _latency = new();
    private readonly LatencyHistogram[] _interval = [new(), new()];
    private readonly Dictionary<string, LatencyHistogram>? _byOperation;
    private readonly ConcurrentDictionary<string, StrongBox<long>> _errors = new(StringComparer.Ordinal);
    private int _intervalIndex;
    private long _okAll;
    private long _okMeasured;
    private long _errorsAll;
    private int _inFlight;
    private long _maxLagTicks;
    private long _lateSends;
    private long _start;
    private long _measureStart;
    private long _end;
    private HttpMessageInvoker _invoker = null!;
    private CancellationToken _stop;

    public LoadRunner(XksTarget target, RequestPool pool, RunSpec spec, BenchOptions options, ProcessMemory memory)
    {
        _target = target;
        _pool = pool;
        _spec = spec;
        _options = options;
        _memory = memory;
        _version = options.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;
        _host = target.Host;
        _prefixOp = spec.Scenario == Scenarios.Mix;
        _byOperation = _prefixOp ? Scenarios.MixWeights.ToDictionary(w => w.Scenario, _ => new LatencyHistogram()) : null;
    }

    private string Label => $"{_target.Name} {_spec.Scenario} {_spec.Load}";

    public async Task<RunResult> RunAsync(CancellationToken ct)
    {
        var memory = new MemoryTrace(_memory.Processes.Count);
        if (_memory.Any)
        {
            memory.Before = _memory.Sample();
            memory.Observe(memory.Before);
        }

        using SocketsHttpHandler handler = _target.CreateHandler(_spec.Connections, _options.Http2);
        using var invoker = new HttpMessageInvoker(handler, disposeHandler: false);
        _invoker = invoker;
        _stop = ct;

        _start = Stopwatch.GetTimestamp();
        _measureStart = _start + (long)(_options.Warmup.TotalSeconds * Stopwatch.Frequency);
        _end = _measureStart + (long)(_spec.Duration.TotalSeconds * Stopwatch.Frequency);

        // The generator's own CPU over the measured window only (not warm-up, JIT or connection set-up).
        Task<TimeSpan> cpuAtMeasureStart = Task.Run(async () =>
        {
            TimeSpan wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), _measureStart);
            if (wait > TimeSpan.Zero)
            {
                try
                {
                    await Task.Delay(wait, ct).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                }
            }

            return Process.GetCurrentProcess().TotalProcessorTime;
        }, CancellationToken.None);

        using var stopProgress = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Task progress = ProgressAsync(memory, stopProgress.Token);

        if (_spec.OpenLoop)
        {
            await RunOpenLoopAsync().ConfigureAwait(false);
        }
        else
        {
            var workers = new Task[_spec.Connections];
            for (int i = 0; i < workers.Length; i++)
            {
                int id = i;
                workers[i] = Task.Run(() => ClosedWorkerAsync(id));
            }

            await Task.WhenAll(workers).ConfigureAwait(false);
        }

        long stoppedAt = Stopwatch.GetTimestamp();
        TimeSpan cpuAtEnd = Process.GetCurrentProcess().TotalProcessorTime;
        double measuredSeconds = (stoppedAt - _measureStart) / (double)Stopwatch.Frequency;
        TimeSpan cpuMeasured = cpuAtEnd - await cpuAtMeasureStart.ConfigureAwait(false);
        double cores = measuredSeconds > 0.1 ? cpuMeasured.TotalSeconds / measuredSeconds : 0;
        await stopProgress.CancelAsync().ConfigureAwait(false);
        await progress.ConfigureAwait(false);

        if (_memory.Any)
        {
            memory.After = _memory.Sample();
            memory.Observe(memory.After);
        }

        return new RunResult
        {
            Target = _target.Name,
            Spec = _spec,
            Ok = Volatile.Read(ref _okMeasured),
            // Interrupted (Ctrl-C) runs report what they measured.
            Seconds = Math.Max(0, (Math.Min(stoppedAt, _end) - _measureStart) / (double)Stopwatch.Frequency),
            Latency = _latency,
            Errors = _errors.Select(e => KeyValuePair.Create(e.Key, e.Value.Value)).OrderByDescending(e => e.Value).ToList(),
            MaxSendLagMicros = LatencyHistogram.TicksToMicros(_maxLagTicks),
            LateSends = _lateSends,
            Memory = _memory.Any ? memory : null,
            GeneratorCores = cores,
            ByOperation = _byOperation,
        };
    }

    private async Task ClosedWorkerAsync(int id)
    {
        byte[] buffer = new byte[16 * 1024];
        var cts = new CancellationTokenSource();
        uint next = (uint)id * 7919u;
        try
        {
            while (true)
            {
                long start = Stopwatch.GetTimestamp();
                if (start >= _end || _stop.IsCancellationRequested)
                {
                    return;
                }

                PreparedRequest[] items = _pool.Items;
                PreparedRequest p = items[next++ % (uint)items.Length];
                cts.CancelAfter(_options.Timeout);
                Interlocked.Increment(ref _inFlight);
                string? error = await SendOnceAsync(p, buffer, cts.Token).ConfigureAwait(false);
                Interlocked.Decrement(ref _inFlight);
                Record(p, start, error, Stopwatch.GetTimestamp() - start);

                if (!cts.TryReset())
                {
                    cts.Dispose();
                    cts = new CancellationTokenSource();
                }

                if (error is not null && error.StartsWith("transport:", StringComparison.Ordinal))
                {
                    // A refused or broken connection fails in microseconds: do not spin the CPU the server needs.
                    await Task.Delay(1).ConfigureAwait(false);
                }
            }
        }
        finally
        {
            cts.Dispose();
        }
    }

    private async Task RunOpenLoopAsync()
    {
        var thread = new Thread(OpenLoopScheduler)
        {
            IsBackground = true,
            Name = "open-loop scheduler",
            Priority = ThreadPriority.AboveNormal,
        };
        thread.Start();
        while (thread.IsAlive)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        // Let the requests still in flight finish (they belong to the measured window), bounded by the timeout.
        long deadline = Stopwatch.GetTimestamp() + (long)((_options.Timeout.TotalSeconds + 1) * Stopwatch.Frequency);
        while (Volatile.Read(ref _inFlight) > 0 && Stopwatch.GetTimestamp() < deadline)
        {
            await Task.Delay(5).ConfigureAwait(false);
        }
    }

    private void OpenLoopScheduler()
    {
        _ = PreciseSleep.TryRaiseThreadPriority();
        double ticksPerRequest = Stopwatch.Frequency / _spec.Rate;
        long lateTicks = TicksPerMs;
        for (long n = 0; ; n++)
        {
            long intended = _start + (long)(n * ticksPerRequest);
            if (intended >= _end || _stop.IsCancellationRequested)
            {
                return;
            }

            long now = Stopwatch.GetTimestamp();
            if (intended > now)
            {
                PreciseSleep.For(intended - now);
                now = Stopwatch.GetTimestamp();
            }

            if (intended >= _measureStart)
            {
                long lag = now - intended;
                if (lag > _maxLagTicks)
                {
                    _maxLagTicks = lag;
                }

                if (lag > lateTicks)
                {
                    _lateSends++;
                }
            }

            if (Volatile.Read(ref _inFlight) >= _options.MaxInFlight)
            {
                // Not sent: the server has fallen so far behind that the generator would only queue more.
                RecordError("generator: in-flight limit reached, request not sent");
                continue;
            }

            PreparedRequest[] items = _pool.Items;
            Interlocked.Increment(ref _inFlight);

            // The scheduler only sleeps and enqueues: sending (TLS write included) happens on the
            // thread pool, so a slow send never delays the next request's start.
            ThreadPool.UnsafeQueueUserWorkItem(static s => _ = s.Runner.OpenRequestAsync(s.Request, s.Intended), new OpenSend(this, items[n % items.Length], intended), preferLocal: false);
        }
    }

    private sealed record OpenSend(LoadRunner Runner, PreparedRequest Request, long Intended);

    private async Task OpenRequestAsync(PreparedRequest p, long intended)
    {
        byte[] buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            using var cts = new CancellationTokenSource(_options.Timeout);
            string? error = await SendOnceAsync(p, buffer, cts.Token).ConfigureAwait(false);
            Record(p, intended, error, Stopwatch.GetTimestamp() - intended);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>Sends one request and reads the whole response. Returns null on 2xx, else the error's accounting key.</summary>
    private async Task<string?> SendOnceAsync(PreparedRequest p, byte[] buffer, CancellationToken ct)
    {
        HttpRequestMessage request = RequestPool.ToMessage(p, _host, _version);
        try
        {
            using HttpResponseMessage response = await _invoker.SendAsync(request, ct).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            Stream body = await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                if (status is >= 200 and < 300)
                {
                    while (await body.ReadAsync(buffer, ct).ConfigureAwait(false) > 0)
                    {
                    }

                    return null;
                }

                int length = 0;
                int read;
                while (length < buffer.Length && (read = await body.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false)) > 0)
                {
                    length += read;
                }

                string error = ErrorBody.Describe(status, buffer.AsSpan(0, length));
                return _prefixOp ? $"{p.Op}: {error}" : error;
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return _prefixOp ? $"{p.Op}: transport: timeout ({_options.Timeout.TotalMilliseconds:0} ms)" : $"transport: timeout ({_options.Timeout.TotalMilliseconds:0} ms)";
        }
        catch (HttpRequestException e)
        {
            string reason = e.HttpRequestError == HttpRequestError.Unknown && e.InnerException is not null
                ? Brief(e.InnerException)
                : e.HttpRequestError.ToString();
            return $"transport: {reason}";
        }
        catch (IOException e)
        {
            return $"transport: {Brief(e)}";
        }
        finally
        {
            request.Dispose();
        }
    }

    /// <summary>Exception type and the start of its message: enough to tell a TLS alert from a reset, few distinct keys.</summary>
    private static string Brief(Exception e)
    {
        string message = e.Message.ReplaceLineEndings(" ");
        return $"{e.GetType().Name}: {(message.Length > 80 ? message[..80] + "…" : message)}";
    }

    private void Record(PreparedRequest p, long startedAt, string? error, long elapsedTicks)
    {
        if (error is null)
        {
            Interlocked.Increment(ref _okAll);
            _interval[Volatile.Read(ref _intervalIndex) & 1].RecordTicks(elapsedTicks);
            if (startedAt >= _measureStart && startedAt < _end)
            {
                Interlocked.Increment(ref _okMeasured);
                _latency.RecordTicks(elapsedTicks);
                if (_byOperation is not null && _byOperation.TryGetValue(p.Op, out LatencyHistogram? op))
                {
                    op.RecordTicks(elapsedTicks);
                }
            }
        }
        else
        {
            RecordError(error);
        }
    }

    private void RecordError(string error)
    {
        Interlocked.Increment(ref _errorsAll);
        StrongBox<long> box = _errors.GetOrAdd(error, static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
    }

    private async Task ProgressAsync(MemoryTrace memory, CancellationToken ct)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1));
        long lastOk = 0;
        long lastTs = _start;
        try
        {
            while (await timer.WaitForNextTickAsync(ct).ConfigureAwait(false))
            {
                long now = Stopwatch.GetTimestamp();
                int index = Interlocked.Increment(ref _intervalIndex) - 1;
                LatencyHistogram h = _interval[index & 1];
                long ok = Volatile.Read(ref _okAll);
                double rps = (ok - lastOk) / Stopwatch.GetElapsedTime(lastTs, now).TotalSeconds;
                lastOk = ok;
                lastTs = now;

                string rss = "";
                if (_memory.Any)
                {
                    long[] sample = _memory.Sample();
                    memory.Observe(sample);
                    rss = "  rss " + string.Join(' ', _memory.Processes.Select((p, i) => $"{p.Name} {Report.Mb(sample[i])}"));
                }

                if (_pool.Age > _options.ResignAfter)
                {
                    _pool.Resign();
                }

                if (!_options.Quiet)
                {
                    double t = Stopwatch.GetElapsedTime(_start, now).TotalSeconds;
                    string phase = string.Create(CultureInfo.InvariantCulture, $"{t,4:0}/{_options.Warmup.TotalSeconds + _spec.Duration.TotalSeconds:0}s{(now < _measureStart ? " warm-up" : "")}");
                    Console.Error.WriteLine(string.Create(
                        CultureInfo.InvariantCulture,
                        $"[{Label}] {phase} {rps,9:N0} req/s  p50 {Report.Ms(h.PercentileMicros(50))} p99 {Report.Ms(h.PercentileMicros(99))} max {Report.Ms(h.MaxMicros)}  errors {Volatile.Read(ref _errorsAll)}  in-flight {Volatile.Read(ref _inFlight)}{rss}"));
                }

                h.Reset();
            }
        }
        catch (OperationCanceledException)
        {
        }
    }
}
