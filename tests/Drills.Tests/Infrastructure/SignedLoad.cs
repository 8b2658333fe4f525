using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Drills.Tests.Infrastructure;

/// <summary>How one answer of the edge counts in a drill.</summary>
internal enum AnswerKind
{
    /// <summary>200 with the right content (a decrypt returned what was encrypted).</summary>
    Success,

    /// <summary>The spec's JSON error for an unavailable dependency: 503 DependencyTimeoutException or 500 InternalException.</summary>
    DependencyError,

    /// <summary>Anything else: another status or error, a body that is not the spec's, a wrong plaintext.</summary>
    Wrong,

    /// <summary>No HTTP answer at all (connection refused or cut).</summary>
    NoAnswer,
}

/// <summary>One request of the load: when it was sent (since the load started), how long it took, what came back.</summary>
internal sealed record Answer(string Operation, TimeSpan SentAt, TimeSpan Elapsed, AnswerKind Kind, int Status, string? ErrorName, string? Detail)
{
    public TimeSpan AnsweredAt => SentAt + Elapsed;

    public override string ToString()
        => Programs.Invariant($"{Operation} at {SentAt.TotalMilliseconds:F0} ms took {Elapsed.TotalMilliseconds:F0} ms: {Kind} {Status} {ErrorName} {Detail}");
}

/// <summary>
/// Signed XKS load against the edge: <c>workers</c> loops of Encrypt (random plaintext and AAD) then
/// Decrypt of that very ciphertext, each over its own keep-alive connection, signed independently
/// (AWSSDK.Core). Every answer is classified; a decrypt that does not give back the plaintext is
/// <see cref="AnswerKind.Wrong"/>.
/// </summary>
internal sealed class SignedLoad : IAsyncDisposable
{
    private readonly ConcurrentQueue<Answer> _answers = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Task[] _workers;
    private readonly XksClient[] _clients;

    private SignedLoad(DrillLab lab, int workers, TimeSpan pause, Version version)
    {
        _clients = Enumerable.Range(0, workers).Select(_ => lab.Client()).ToArray();
        _workers = _clients.Select(c => Task.Run(() => RunAsync(c, lab.Credential, pause, version))).ToArray();
    }

    /// <summary>Time since the load started (the clock of <see cref="Answer.SentAt"/>).</summary>
    public TimeSpan Now => _clock.Elapsed;

    public IReadOnlyList<Answer> Answers => [.. _answers];

    public static SignedLoad Start(DrillLab lab, int workers, TimeSpan? pause = null, Version? version = null)
        => new(lab, workers, pause ?? TimeSpan.FromMilliseconds(2), version ?? HttpVersion.Version11);

    /// <summary>Waits until at least <paramref name="count"/> successes came after <paramref name="since"/>.</summary>
    public async Task<TimeSpan?> WaitForSuccessesAsync(TimeSpan since, int count, TimeSpan timeout)
    {
        var until = Now + timeout;
        while (Now < until)
        {
            var successes = _answers.Where(a => a.SentAt >= since && a.Kind == AnswerKind.Success).OrderBy(a => a.AnsweredAt).ToList();
            if (successes.Count >= count)
            {
                return successes[0].AnsweredAt;
            }

            await Task.Delay(50);
        }

        return null;
    }

    public async Task<IReadOnlyList<Answer>> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_workers);
        return Answers;
    }

    private async Task RunAsync(XksClient client, TestCredential credential, TimeSpan pause, Version version)
    {
        while (!_stop.IsCancellationRequested)
        {
            var plaintext = RandomNumberGenerator.GetBytes(32);
            var aad = RandomNumberGenerator.GetBytes(16);
            var encrypted = await SendAsync(client, credential, "encrypt", XksBodies.Encrypt(plaintext, aad).ToJsonString(), version, null);
            if (encrypted is not null)
            {
                await SendAsync(client, credential, "decrypt", XksBodies.DecryptFrom(encrypted.RootElement.Clone().ToNode(), aad).ToJsonString(), version, plaintext);
                encrypted.Dispose();
            }

            if (pause > TimeSpan.Zero)
            {
                await Task.Delay(pause);
            }
        }
    }

    /// <summary>Sends one request and records its answer; returns the JSON of a success.</summary>
    private async Task<JsonDocument?> SendAsync(XksClient client, TestCredential credential, string operation, string body, Version version, byte[]? expectedPlaintext)
    {
        var sentAt = _clock.Elapsed;
        var started = Stopwatch.GetTimestamp();
        try
        {
            var reply = await client.PostAsync($"/ks1/kms/xks/v1/keys/foo/{operation}", body, credential, version);
            var elapsed = Stopwatch.GetElapsedTime(started);
            var (kind, errorName, detail, document) = Classify(reply, expectedPlaintext);
            _answers.Enqueue(new Answer(operation, sentAt, elapsed, kind, (int)reply.Status, errorName, detail));
            return document;
        }
        catch (HttpRequestException e)
        {
            _answers.Enqueue(new Answer(operation, sentAt, Stopwatch.GetElapsedTime(started), AnswerKind.NoAnswer, 0, null, e.HttpRequestError.ToString()));
            return null;
        }
    }

    /// <summary>Classifies a reply by the spec: a success with the right content, the dependency errors, or wrong.</summary>
    public static (AnswerKind Kind, string? ErrorName, string? Detail, JsonDocument? Document) Classify(XksClient.Reply reply, byte[]? expectedPlaintext)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(reply.Body);
        }
        catch (JsonException)
        {
            return (AnswerKind.Wrong, null, "body is not JSON", null);
        }

        if (reply.ContentType != "application/json")
        {
            document.Dispose();
            return (AnswerKind.Wrong, null, "Content-Type " + reply.ContentType, null);
        }

        var root = document.RootElement;
        if (reply.Status == HttpStatusCode.OK)
        {
            if (expectedPlaintext is null)
            {
                return root.TryGetProperty("ciphertext", out _) ? (AnswerKind.Success, null, null, document) : Wrong(document, "encrypt reply without ciphertext");
            }

            var plaintext = root.TryGetProperty("plaintext", out var p) ? p.GetBytesFromBase64() : null;
            document.Dispose();
            return plaintext is not null && plaintext.AsSpan().SequenceEqual(expectedPlaintext)
                ? (AnswerKind.Success, null, null, null)
                : (AnswerKind.Wrong, null, "decrypt returned another plaintext", null);
        }

        var name = root.TryGetProperty("errorName", out var n) ? n.GetString() : null;
        document.Dispose();
        var dependency = (reply.Status, name) is (HttpStatusCode.ServiceUnavailable, "DependencyTimeoutException")
            or (HttpStatusCode.InternalServerError, "InternalException");
        return (dependency ? AnswerKind.DependencyError : AnswerKind.Wrong, name, null, null);

        static (AnswerKind, string?, string?, JsonDocument?) Wrong(JsonDocument d, string why)
        {
            d.Dispose();
            return (AnswerKind.Wrong, null, why, null);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _stop.Dispose();
    }
}

internal static class JsonElementExtensions
{
    public static System.Text.Json.Nodes.JsonNode ToNode(this JsonElement element)
        => System.Text.Json.Nodes.JsonNode.Parse(element.GetRawText())!;
}

/// <summary>Summaries of a drill's answers for assertions and the README.</summary>
internal static class Answers
{
    public static string Summary(IReadOnlyCollection<Answer> answers)
    {
        var byKind = answers.GroupBy(a => (a.Kind, a.ErrorName)).Select(g => $"{g.Key.Kind}{(g.Key.ErrorName is null ? "" : "/" + g.Key.ErrorName)}={g.Count()}");
        var latencies = answers.Select(a => a.Elapsed.TotalMilliseconds).Order().ToArray();
        return Programs.Invariant($"{answers.Count} answers ({string.Join(", ", byKind)}); latency p50 {Percentile(latencies, 0.5):F1} ms, p99 {Percentile(latencies, 0.99):F1} ms, max {(latencies.Length == 0 ? 0 : latencies[^1]):F1} ms");
    }

    public static double Percentile(double[] sorted, double p)
        => sorted.Length == 0 ? 0 : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];

    public static string First(IEnumerable<Answer> answers, int count = 10) => string.Join('\n', answers.Take(count));
}
