using System.Reflection;
using System.Text;
using System.Text.Json;
using XksGrpc.Edge.Audit;
using static XksGrpc.Edge.Tests.Audit.AuditTestData;

namespace XksGrpc.Edge.Tests.Audit;

public sealed class AuditLogTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xks-audit-").FullName;

    private string LogPath => Path.Combine(_dir, "audit.log");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Append_WritesOneRecordPerLine_WithEveryFieldInOrder()
    {
        var clock = new ManualTimeProvider(new DateTimeOffset(2026, 11, 28, 12, 30, 1, 234, TimeSpan.FromHours(2)));
        await using (AuditLog log = AuditLog.Open(LogPath, timeProvider: clock))
        {
            await log.AppendAsync(Event(2));
        }

        string line = Assert.Single(File.ReadAllLines(LogPath));
        using JsonDocument record = JsonDocument.Parse(line);
        JsonElement r = record.RootElement;
        Assert.Equal(AuditRecordFormat.Fields, r.EnumerateObject().Select(p => p.Name));
        Assert.Equal(1, r.GetProperty("seq").GetInt64());
        Assert.Equal("2026-11-28T10:30:01.234000Z", r.GetProperty("time").GetString());
        Assert.Equal("Encrypt", r.GetProperty("api").GetString());
        Assert.Equal("ks1", r.GetProperty("keystore").GetString());
        Assert.Equal("foo", r.GetProperty("keyId").GetString());
        Assert.Equal("4112f4d6-db54-4af4-ae30-000000000002", r.GetProperty("kmsRequestId").GetString());
        Assert.Equal("GenerateDataKey", r.GetProperty("kmsOperation").GetString());
        Assert.Equal("ebs", r.GetProperty("kmsViaService").GetString());
        Assert.Equal(JsonValueKind.Null, r.GetProperty("awsSourceVpc").ValueKind);
        Assert.Equal("CN=cks.kms.us-east-1.amazonaws.com", r.GetProperty("tlsClientSubject").GetString());
        Assert.Equal("ok", r.GetProperty("outcome").GetString());
        Assert.Equal("r1", r.GetProperty("policyRule").GetString());
        Assert.Equal(3.5, r.GetProperty("latencyMs").GetDouble());
        Assert.Equal(AuditRecordFormat.Genesis, r.GetProperty("prev").GetString());
        Assert.True(AuditRecordFormat.HasValidSelfHash(Encoding.UTF8.GetBytes(line)));
    }

    [Fact]
    public async Task Writer_FlushesOnItsOwnThread_NotOnTheThreadPool()
    {
        // An fsync can block for tens of milliseconds; on a thread-pool thread it stalled requests
        // (measured: the edge's pool grew by 23 threads in 20 s at 1800 requests/s).
        var flushedOn = new TaskCompletionSource<(bool PoolThread, string? Name)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var options = new AuditLogOptions
        {
            BeforeFlush = () => flushedOn.TrySetResult((Thread.CurrentThread.IsThreadPoolThread, Thread.CurrentThread.Name)),
        };
        await using (AuditLog log = AuditLog.Open(LogPath, options))
        {
            await log.AppendAsync(Event(1));
            await log.FlushAsync();
        }

        (bool poolThread, string? name) = await flushedOn.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(poolThread);
        Assert.Equal("XksGrpc audit", name);
    }

    [Fact]
    public async Task Records_ChainEachToTheHashOfThePreviousLine()
    {
        string[] lines = await WriteLog(LogPath, 3);

        for (int i = 1; i < lines.Length; i++)
        {
            using JsonDocument record = JsonDocument.Parse(lines[i]);
            Assert.Equal(i + 1, record.RootElement.GetProperty("seq").GetInt64());
            Assert.Equal(AuditRecordFormat.LineHash(Encoding.UTF8.GetBytes(lines[i - 1])), record.RootElement.GetProperty("prev").GetString());
        }
    }

    [Fact]
    public void AuditEvent_HasNoFieldThatCouldCarryDataOrSecrets()
    {
        string[] allowed = AuditRecordFormat.Fields.Select(f => f.ToUpperInvariant()).ToArray();

        foreach (PropertyInfo property in typeof(AuditEvent).GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            Assert.Contains(property.Name.ToUpperInvariant(), allowed);
            Assert.True(property.PropertyType == typeof(string) || property.PropertyType == typeof(double), property.Name);
        }
    }

    [Fact]
    public async Task Records_NeverContainMembersBeyondTheAllowedSet_WhateverTheValues()
    {
        var nasty = new AuditEvent("Decrypt", "ks\"1", "k\ney", "id\u2028x", "Op\\", "\"hash\":\"00\"", ",\"plaintext\":\"x\"", "\u0000", "é", "<>&", "CN=a,O=\"b\"", "AccessDeniedException", null, double.NaN);
        await using (AuditLog log = AuditLog.Open(LogPath))
        {
            await log.AppendAsync(nasty);
            await log.AppendAsync(Event());
        }

        string[] lines = File.ReadAllLines(LogPath);
        Assert.Equal(2, lines.Length);
        foreach (string line in lines)
        {
            using JsonDocument record = JsonDocument.Parse(line);
            Assert.Equal(AuditRecordFormat.Fields, record.RootElement.EnumerateObject().Select(p => p.Name));
        }

        using JsonDocument first = JsonDocument.Parse(lines[0]);
        Assert.Equal("k\ney", first.RootElement.GetProperty("keyId").GetString());
        Assert.True(AuditVerifier.Verify(LogPath).Intact);
    }

    [Fact]
    public async Task Append_WithALoneSurrogate_StillWritesAnIntactRecord()
    {
        await using (AuditLog log = AuditLog.Open(LogPath))
        {
            await log.AppendAsync(Event() with { KeyId = "bad\uD800key" });
            await log.AppendAsync(Event(2));
            await log.FlushAsync();
            Assert.Equal(0, log.Dropped);
        }

        using JsonDocument first = JsonDocument.Parse(File.ReadAllLines(LogPath)[0]);
        Assert.Equal("bad\uFFFDkey", first.RootElement.GetProperty("keyId").GetString());
        Assert.True(AuditVerifier.Verify(LogPath).Intact);
    }

    [Fact]
    public async Task Reopen_ContinuesTheChainAndTheSequence()
    {
        await WriteLog(LogPath, 3);
        string head;
        await using (AuditLog log = AuditLog.Open(LogPath))
        {
            Assert.Equal(3, log.LastSeq);
            head = log.HeadHash;
            await log.AppendAsync(Event(4));
            await log.AppendAsync(Event(5));
        }

        string[] lines = File.ReadAllLines(LogPath);
        using JsonDocument fourth = JsonDocument.Parse(lines[3]);
        Assert.Equal(4, fourth.RootElement.GetProperty("seq").GetInt64());
        Assert.Equal(head, fourth.RootElement.GetProperty("prev").GetString());
        AuditVerification result = AuditVerifier.Verify(LogPath);
        Assert.True(result.Intact, result.Problem?.ToString());
        Assert.Equal(5, result.LastSeq);
    }

    [Fact]
    public async Task Open_OnAFileWithATornLastLine_Refuses()
    {
        await WriteLog(LogPath, 2);
        File.AppendAllText(LogPath, "{\"seq\":3,\"ti");

        var ex = Assert.Throws<InvalidDataException>(() => AuditLog.Open(LogPath));
        Assert.Contains("partial record", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_OnAFileWhoseLastRecordWasEdited_Refuses()
    {
        string[] lines = await WriteLog(LogPath, 2);
        lines[1] = lines[1].Replace("\"Encrypt\"", "\"Decrypt\"", StringComparison.Ordinal);
        WriteLines(LogPath, lines);

        Assert.Throws<InvalidDataException>(() => AuditLog.Open(LogPath));
    }

    [Fact]
    public async Task ManyConcurrentWriters_ProduceOneIntactChainWithEveryRecord()
    {
        const int Writers = 8, PerWriter = 500;
        await using (AuditLog log = AuditLog.Open(LogPath, new AuditLogOptions { Capacity = 64, BlockTimeout = TimeSpan.FromSeconds(30) }))
        {
            await Task.WhenAll(Enumerable.Range(0, Writers).Select(w => Task.Run(async () =>
            {
                for (int i = 0; i < PerWriter; i++)
                {
                    Assert.True(await log.AppendAsync(Event((w * PerWriter) + i)));
                }
            })));
            await log.FlushAsync();
            Assert.Equal(Writers * PerWriter, log.Written);
            Assert.Equal(0, log.Dropped);
        }

        AuditVerification result = AuditVerifier.Verify(LogPath);
        Assert.True(result.Intact, result.Problem?.ToString());
        Assert.Equal(Writers * PerWriter, result.Records);
        string[] ids = File.ReadAllLines(LogPath).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("kmsRequestId").GetString()!).ToArray();
        Assert.Equal(Writers * PerWriter, ids.Distinct().Count());
    }

    [Fact]
    public async Task Append_WhenTheQueueStaysFull_WaitsTheBlockTimeoutThenDropsAndCounts()
    {
        var writerStalled = new TaskCompletionSource();
        var options = new AuditLogOptions { Capacity = 3, BlockTimeout = TimeSpan.FromMilliseconds(100), WriterStartGate = writerStalled.Task };
        await using (AuditLog log = AuditLog.Open(LogPath, options))
        {
            for (int i = 1; i <= 3; i++)
            {
                Assert.True(log.AppendAsync(Event(i)).IsCompletedSuccessfully); // room in the queue: no waiting
            }

            var watch = System.Diagnostics.Stopwatch.StartNew();
            Assert.False(await log.AppendAsync(Event(4)));
            Assert.True(watch.Elapsed >= TimeSpan.FromMilliseconds(90), $"dropped after {watch.Elapsed}, before the block timeout");
            Assert.Equal(1, log.Dropped);

            writerStalled.SetResult();
            await log.FlushAsync();
            Assert.Equal(3, log.Written);
        }

        AuditVerification result = AuditVerifier.Verify(LogPath);
        Assert.True(result.Intact);
        Assert.Equal(3, result.Records);
    }

    [Fact]
    public async Task Append_WhenTheQueueFreesUpWithinTheBlockTimeout_IsNotDropped()
    {
        var writerStalled = new TaskCompletionSource();
        var options = new AuditLogOptions { Capacity = 1, BlockTimeout = TimeSpan.FromSeconds(10), WriterStartGate = writerStalled.Task };
        await using AuditLog log = AuditLog.Open(LogPath, options);
        Assert.True(await log.AppendAsync(Event(1)));

        ValueTask<bool> blocked = log.AppendAsync(Event(2));
        Assert.False(blocked.IsCompleted);
        writerStalled.SetResult();

        Assert.True(await blocked);
        await log.FlushAsync();
        Assert.Equal((2, 0), (log.Written, log.Dropped));
    }

    [Fact]
    public async Task FlushAsync_MakesEveryEarlierRecordReadable()
    {
        await using AuditLog log = AuditLog.Open(LogPath);
        await log.AppendAsync(Event(1));
        await log.AppendAsync(Event(2));

        await log.FlushAsync();

        using var reader = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Assert.Equal(2, new StreamReader(reader).ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.Equal(2, log.LastSeq);
    }

    [Fact]
    public async Task Append_AfterDispose_IsCountedAsDropped()
    {
        AuditLog log = AuditLog.Open(LogPath);
        await log.DisposeAsync();

        Assert.False(await log.AppendAsync(Event()));
        Assert.Equal(1, log.Dropped);
    }

    [Fact]
    public async Task Open_CreatesTheFileReadableOnlyByOwnerAndGroup()
    {
        if (OperatingSystem.IsWindows())
        {
            return; // Unix permissions only; the edge runs on Linux.
        }

        await using (AuditLog.Open(LogPath))
        {
        }

        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead, File.GetUnixFileMode(LogPath));
    }

    [Fact]
    public async Task Open_WhileAnotherWriterHasTheFile_Refuses()
    {
        await using AuditLog first = AuditLog.Open(LogPath);

        var ex = Assert.Throws<InvalidOperationException>(() => AuditLog.Open(LogPath));
        Assert.Contains("already open for writing", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_AfterTheFirstWriterClosed_Succeeds()
    {
        await (AuditLog.Open(LogPath)).DisposeAsync();

        await using AuditLog second = AuditLog.Open(LogPath);
        Assert.Equal(0, second.LastSeq);
    }

    [Fact]
    public async Task TheFile_StaysReadableWhileTheLogHasItOpen()
    {
        await using AuditLog log = AuditLog.Open(LogPath);
        await log.AppendAsync(Event());
        await log.FlushAsync();

        using var reader = new FileStream(LogPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        Assert.True(reader.Length > 0);
    }
}
