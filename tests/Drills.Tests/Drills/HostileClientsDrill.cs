using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using XksGrpc.Drills.Tests.Infrastructure;

namespace XksGrpc.Drills.Tests.Drills;

/// <summary>
/// Drill d (issue 6): slow and hostile clients against the edge while a signed client works. Slow
/// headers, a body below the minimum data rate, hundreds of idle TLS connections and a burst of 10 MB
/// bodies (declared and chunked) all at once: Kestrel's limits cut each of them, every oversized body
/// that can be answered gets the spec's JSON error, the edge's working set stays bounded, and the
/// signed Encrypt/Decrypt stream sees no error and keeps its latency.
/// </summary>
[Collection(DrillCollection.Name)]
public sealed class HostileClientsDrill
{
    private const int Slowloris = 200;
    private const int SlowBodies = 20;
    private const int Idle = 500;
    private const int Oversized = 200;
    private const int TenMegabytes = 10 * 1024 * 1024;
    private const string EncryptPath = "/ks1/kms/xks/v1/keys/foo/encrypt";

    /// <summary>The drill's edge limits: short, so that each one fires within the drill.</summary>
    private static readonly TimeSpan HeadersTimeout = TimeSpan.FromSeconds(4);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(6);

    /// <summary>The edge's fixed minimum request body rate: 1024 bytes/s after a 5 s grace period.</summary>
    private static readonly TimeSpan BodyGrace = TimeSpan.FromSeconds(5);

    /// <summary>Kestrel checks its timeouts on a 1 s heartbeat; a loaded two-core machine adds more.</summary>
    private static readonly TimeSpan TimerSlack = TimeSpan.FromSeconds(4);

    /// <summary>The edge's working set must stay below this during the whole drill.</summary>
    private const long MaxWorkingSetBytes = 256L * 1024 * 1024;

    /// <summary>
    /// p99 of the signed stream while ~900 hostile connections come and go: KMS's own 250 ms timeout.
    /// On the shared two-core development machine (load average 8-15 from other builds) the observed
    /// p99 was 100-160 ms, so a tighter bound would measure the neighbours, not the edge.
    /// </summary>
    private static readonly TimeSpan MaxP99 = TimeSpan.FromMilliseconds(250);

    [Fact]
    public async Task SlowAndHostileClients_AreCutByKestrelsLimits_WhileASignedClientKeepsWorking()
    {
        await using var lab = await DrillLab.StartAsync("hostile", editEdge: edge =>
        {
            var limits = edge["Edge"]!["Limits"]!;
            limits["RequestHeadersTimeout"] = HeadersTimeout.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
            limits["KeepAliveTimeout"] = KeepAlive.ToString("c", System.Globalization.CultureInfo.InvariantCulture);
        });
        var edgePid = lab.Edge!.Pid;
        using var memory = WorkingSetSampler.Start(edgePid);
        await using var load = SignedLoad.Start(lab, workers: 2, pause: TimeSpan.FromMilliseconds(10));
        Assert.NotNull(await load.WaitForSuccessesAsync(TimeSpan.Zero, 50, TimeSpan.FromSeconds(20)));
        var hostileFrom = load.Now;

        // At most 4 TLS handshakes at a time: the burst is of hostile clients, not of handshakes (this
        // process shares the two cores with the edge and the broker).
        using var handshakes = new SemaphoreSlim(4);
        var slowloris = Enumerable.Range(0, Slowloris).Select(_ => SlowHeadersAsync(lab, handshakes)).ToArray();
        var slowBodies = Enumerable.Range(0, SlowBodies).Select(_ => SlowBodyAsync(lab, handshakes)).ToArray();
        var idle = Enumerable.Range(0, Idle).Select(_ => IdleAsync(lab, handshakes)).ToArray();
        var oversized = Enumerable.Range(0, Oversized).Select(i => OversizedAsync(lab, handshakes, chunked: i % 2 == 1)).ToArray();

        var slowlorisResults = await Task.WhenAll(slowloris);
        var slowBodyResults = await Task.WhenAll(slowBodies);
        var idleResults = await Task.WhenAll(idle);
        var oversizedResults = await Task.WhenAll(oversized);
        var hostileUntil = load.Now;
        await Task.Delay(TimeSpan.FromSeconds(1));
        var answers = await load.StopAsync();
        var peak = memory.Peak;
        var summary = Answers.Summary(answers);
        var during = answers.Where(a => a.SentAt >= hostileFrom && a.SentAt <= hostileUntil).ToList();
        var duringSummary = Answers.Summary(during);

        // (i) Slow headers: every connection cut by RequestHeadersTimeout, none earlier.
        Assert.All(slowlorisResults, r => Assert.True(r.ClosedAfter is { } c && c >= HeadersTimeout - TimeSpan.FromSeconds(1) && c <= HeadersTimeout + TimerSlack,
            $"a slow-header connection closed after {r.ClosedAfter} (RequestHeadersTimeout {HeadersTimeout})\n{lab.Edge.Tail()}"));

        // (ii) Slow body: cut once the grace period is over; what is answered is the spec's JSON.
        Assert.All(slowBodyResults, r => Assert.True(r.ClosedAfter is { } c && c >= BodyGrace - TimeSpan.FromSeconds(1) && c <= BodyGrace + TimerSlack,
            $"a slow-body connection closed after {r.ClosedAfter}, answer {r.Answer}\n{lab.Edge.Tail()}"));
        Assert.All(slowBodyResults.Where(r => r.Answer is not null), r => AssertSpecError(r.Answer!, 400, "ValidationException"));

        // (iii) Idle connections: closed by KeepAliveTimeout after their one request, none earlier.
        Assert.All(idleResults, r => Assert.True(r.ClosedAfter is { } c && c >= KeepAlive - TimeSpan.FromSeconds(1) && c <= KeepAlive + TimerSlack,
            $"an idle connection closed {r.ClosedAfter} after its request (KeepAliveTimeout {KeepAlive}); answer {r.Answer}"));
        Assert.All(idleResults, r => Assert.Equal(200, r.Answer?.Status));

        // (iv) Oversized bodies: each answered with the edge's oversize rule as the spec's JSON, and closed.
        Assert.All(oversizedResults, r => AssertSpecError(r.Answer ?? throw new Xunit.Sdk.XunitException($"no answer to an oversized body ({(r.Chunked ? "chunked" : "Content-Length")}), closed after {r.ClosedAfter}, received '{r.Received}'"),
            501, "UnsupportedOperationException"));
        Assert.All(oversizedResults, r => Assert.NotNull(r.ClosedAfter));
        Assert.True(peak < MaxWorkingSetBytes, $"the edge's working set peaked at {peak / (1024 * 1024)} MB");

        // (v) The signed client: no error at all, and its latency held.
        var failed = answers.Where(a => a.Kind != AnswerKind.Success).ToList();
        Assert.True(failed.Count == 0, $"{summary}\n{Answers.First(failed)}\n{lab.Logs()}");
        Assert.True(during.Count > 100, duringSummary);
        var p99 = Answers.Percentile([.. during.Select(a => a.Elapsed.TotalMilliseconds).Order()], 0.99);
        Assert.True(p99 <= MaxP99.TotalMilliseconds, $"p99 of the signed stream during the drill: {duringSummary}");
        Assert.Equal(edgePid, lab.Edge.Pid);
        Assert.False(lab.Edge.HasExited);

        Console.WriteLine(
            Programs.Invariant($"drill d (hostile clients): slow headers {Slowloris} closed after {Range(slowlorisResults)}; slow bodies {SlowBodies} closed after {Range(slowBodyResults)} ")
            + Programs.Invariant($"({slowBodyResults.Count(r => r.Answer is not null)} answered {string.Join(",", slowBodyResults.Select(r => r.Answer?.Status).Distinct())}); ")
            + Programs.Invariant($"idle {Idle} closed {Range(idleResults)} after their request; oversized {Oversized} (half chunked) all 501 JSON, closed after {Range(oversizedResults)}; ")
            + Programs.Invariant($"edge working set before {memory.First / (1024 * 1024)} MB, peak {peak / (1024 * 1024)} MB; signed stream during the drill {duringSummary}; whole load {summary}"));
    }

    private static void AssertSpecError(HttpAnswer answer, int status, string errorName)
    {
        Assert.True(answer.Status == status && answer.ContentType == "application/json", $"{answer.Status} {answer.ContentType} {answer.Body}");
        Assert.Equal(errorName, JsonNode.Parse(answer.Body)!["errorName"]!.GetValue<string>());
    }

    private static string Range(IReadOnlyCollection<Result> results)
    {
        var closed = results.Where(r => r.ClosedAfter is not null).Select(r => r.ClosedAfter!.Value.TotalSeconds).ToArray();
        return closed.Length == 0 ? "never" : Programs.Invariant($"{closed.Min():F1}-{closed.Max():F1} s");
    }

    private sealed record Result(TimeSpan? ClosedAfter, HttpAnswer? Answer, bool Chunked = false, string? Received = null);

    private static async Task<RawTlsConnection> OpenAsync(DrillLab lab, SemaphoreSlim handshakes, int? sendBufferBytes = null)
    {
        await handshakes.WaitAsync();
        try
        {
            return await RawTlsConnection.OpenAsync(lab, sendBufferBytes);
        }
        finally
        {
            handshakes.Release();
        }
    }

    /// <summary>(i) Request headers at one byte a second, never finished.</summary>
    private static async Task<Result> SlowHeadersAsync(DrillLab lab, SemaphoreSlim handshakes)
    {
        await using var connection = await OpenAsync(lab, handshakes);
        var started = connection.Clock.Elapsed;
        var headers = $"POST {EncryptPath} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nX-Slow: " + new string('a', 120);
        foreach (var b in Encoding.ASCII.GetBytes(headers))
        {
            if (!await connection.WriteAsync(new[] { b }) || connection.ClosedAfter is not null)
            {
                break;
            }

            await Task.Delay(TimeSpan.FromSeconds(1));
        }

        await connection.WaitForCloseAsync(TimeSpan.FromSeconds(5));
        return new Result(connection.ClosedAfter - started, await connection.WaitForAnswerAsync(TimeSpan.Zero));
    }

    /// <summary>(ii) Complete headers declaring 4 KiB, then the body at one byte a second.</summary>
    private static async Task<Result> SlowBodyAsync(DrillLab lab, SemaphoreSlim handshakes)
    {
        await using var connection = await OpenAsync(lab, handshakes);
        await connection.WriteAsync($"POST {EncryptPath} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 4096\r\n\r\n{{");
        var started = connection.Clock.Elapsed;
        for (var i = 0; i < 60 && connection.ClosedAfter is null; i++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            if (!await connection.WriteAsync(" "))
            {
                break;
            }
        }

        await connection.WaitForCloseAsync(TimeSpan.FromSeconds(5));
        return new Result(connection.ClosedAfter - started, await connection.WaitForAnswerAsync(TimeSpan.Zero));
    }

    /// <summary>(iii) One GET /ping, then nothing: the connection idles on keep-alive.</summary>
    private static async Task<Result> IdleAsync(DrillLab lab, SemaphoreSlim handshakes)
    {
        await using var connection = await OpenAsync(lab, handshakes);
        await connection.WriteAsync("GET /ping HTTP/1.1\r\nHost: localhost\r\n\r\n");
        var answer = await connection.WaitForAnswerAsync(TimeSpan.FromSeconds(10));
        var answeredAt = connection.Clock.Elapsed;
        await connection.WaitForCloseAsync(KeepAlive + TimerSlack + TimeSpan.FromSeconds(2));
        return new Result(connection.ClosedAfter - answeredAt, answer);
    }

    /// <summary>(iv) A 10 MB body, declared by Content-Length or chunked, sent as fast as the edge takes it.</summary>
    private static async Task<Result> OversizedAsync(DrillLab lab, SemaphoreSlim handshakes, bool chunked)
    {
        await using var connection = await OpenAsync(lab, handshakes, sendBufferBytes: 64 * 1024);
        var started = connection.Clock.Elapsed;
        await connection.WriteAsync($"POST {EncryptPath} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
            + (chunked ? "Transfer-Encoding: chunked\r\n\r\n" : $"Content-Length: {TenMegabytes}\r\n\r\n"));
        var piece = new byte[64 * 1024];
        piece.AsSpan().Fill((byte)'a');
        var chunk = chunked ? [.. Encoding.ASCII.GetBytes($"{piece.Length:x}\r\n"), .. piece, .. "\r\n"u8] : piece;
        // Like curl ("HTTP error before end of send, stop sending"), the client stops once an answer arrives.
        for (var sent = 0; sent < TenMegabytes && connection.ClosedAfter is null && connection.Received().Length == 0; sent += piece.Length)
        {
            if (!await connection.WriteAsync(chunk))
            {
                break;
            }
        }


        await connection.WaitForCloseAsync(TimeSpan.FromSeconds(15));
        var received = connection.Received();
        return new Result(connection.ClosedAfter - started, await connection.WaitForAnswerAsync(TimeSpan.Zero), chunked, Encoding.ASCII.GetString(received, 0, Math.Min(received.Length, 400)));
    }

    /// <summary>Samples a process's resident set (VmRSS) every 100 ms; keeps the first and the peak.</summary>
    private sealed class WorkingSetSampler : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _task;
        private long _peak;

        private WorkingSetSampler(int pid)
        {
            First = Read(pid);
            _peak = First;
            _task = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    var now = Read(pid);
                    if (now > Interlocked.Read(ref _peak))
                    {
                        Interlocked.Exchange(ref _peak, now);
                    }

                    await Task.Delay(100);
                }
            });
        }

        public long First { get; }

        public long Peak => Interlocked.Read(ref _peak);

        public static WorkingSetSampler Start(int pid) => new(pid);

        private static long Read(int pid)
        {
            try
            {
                var line = File.ReadLines($"/proc/{pid}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
                return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture) * 1024;
            }
            catch (IOException)
            {
                return 0;
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            try
            {
                _task.Wait(TimeSpan.FromSeconds(2));
            }
            catch (AggregateException)
            {
            }

            _stop.Dispose();
        }
    }
}
