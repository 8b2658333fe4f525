using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using XksGrpc.Observability;

namespace XksGrpc.Edge.Tests.Observability;

/// <summary>
/// The programs' console logger: the framework's JSON formatter and console options, lines queued
/// without a lock and written in batches by one thread, whole and exactly once.
/// </summary>
public sealed class BatchedConsoleLoggerTests
{
    [Fact]
    public void LinesFromManyThreads_AreWrittenWholeOnceEach_InEachThreadsOrder_InFewerWritesThanLines()
    {
        var output = new RecordingStream();
        using (var services = Services(options => options.FormatterName = ConsoleFormatterNames.Json))
        {
            using var provider = Provider(services, output, new RecordingStream());
            var logger = provider.CreateLogger("Test");
            Parallel.For(0, 4, thread =>
            {
                for (int i = 0; i < 500; i++)
                {
                    logger.LogInformation("thread {Thread} line {Line}", thread, i);
                }
            });
        }

        var lines = output.Lines();
        Assert.Equal(2000, lines.Count);
        var next = new int[4];
        foreach (string line in lines)
        {
            var state = JsonDocument.Parse(line).RootElement.GetProperty("State");
            int thread = state.GetProperty("Thread").GetInt32();
            Assert.Equal(next[thread]++, state.GetProperty("Line").GetInt32());
        }

        Assert.All(next, count => Assert.Equal(500, count));
        Assert.True(output.Writes < lines.Count / 2, $"{output.Writes} writes for {lines.Count} lines: not batched");
    }

    [Fact]
    public void Scopes_AndTheErrorThreshold_FollowTheConsoleOptions()
    {
        var output = new RecordingStream();
        var error = new RecordingStream();
        using (var services = Services(options =>
        {
            options.FormatterName = ConsoleFormatterNames.Json;
            options.LogToStandardErrorThreshold = LogLevel.Error;
        }, includeScopes: true))
        {
            // A factory of its own (the services' one would also write to the real console): it hands
            // the provider its scopes.
            using var factory = new LoggerFactory();
            var provider = Provider(services, output, error);
            factory.AddProvider(provider);
            var logger = factory.CreateLogger("Test");
            using (logger.BeginScope(new Dictionary<string, object> { ["TraceId"] = "abc" }))
            {
                logger.LogWarning("to standard output");
                logger.LogError("to standard error");
            }
        }

        var warning = JsonDocument.Parse(Assert.Single(output.Lines())).RootElement;
        Assert.Equal("to standard output", warning.GetProperty("Message").GetString());
        Assert.Equal("abc", warning.GetProperty("Scopes")[0].GetProperty("TraceId").GetString());
        Assert.Equal("to standard error", JsonDocument.Parse(Assert.Single(error.Lines())).RootElement.GetProperty("Message").GetString());
    }

    [Fact]
    public void AFullQueue_DropsLines_InDropWriteMode_WithoutBlockingTheCaller()
    {
        var output = new RecordingStream { Gate = new ManualResetEventSlim(false) };
        using var services = Services(options =>
        {
            options.FormatterName = ConsoleFormatterNames.Json;
            options.MaxQueueLength = 10;
            options.QueueFullMode = ConsoleLoggerQueueFullMode.DropWrite;
        });
        using var provider = Provider(services, output, new RecordingStream());
        var logger = provider.CreateLogger("Test");

        // The first line reaches the writer, which then blocks in the stream; ten more fill the queue.
        logger.LogInformation("first");
        Assert.True(output.Entered.Wait(TimeSpan.FromSeconds(10)));
        for (int i = 0; i < 100; i++)
        {
            logger.LogInformation("line {Line}", i);
        }

        Assert.Equal(90, provider.Dropped);
        output.Gate.Set();
    }

    [Fact]
    public void Registration_ReplacesTheFrameworksConsoleProvider()
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddConsole().UseBatchedConsole());
        using var provider = services.BuildServiceProvider();
        var providers = provider.GetServices<ILoggerProvider>().ToList();
        Assert.Contains(providers, p => p is BatchedConsoleLoggerProvider);
        Assert.DoesNotContain(providers, p => p is ConsoleLoggerProvider);
    }

    private static ServiceProvider Services(Action<ConsoleLoggerOptions> configure, bool includeScopes = false)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging
            .AddConsole(configure)
            .AddJsonConsole(json => json.IncludeScopes = includeScopes));
        return services.BuildServiceProvider();
    }

    private static BatchedConsoleLoggerProvider Provider(ServiceProvider services, Stream output, Stream error)
        => new(services.GetRequiredService<IOptionsMonitor<ConsoleLoggerOptions>>(), services.GetServices<Microsoft.Extensions.Logging.Console.ConsoleFormatter>(), output, error);

    /// <summary>Records what is written and how many writes it took; can hold the writer inside a write.</summary>
    private sealed class RecordingStream : Stream
    {
        private readonly ConcurrentQueue<byte[]> _writes = new();

        public ManualResetEventSlim? Gate { get; init; }

        public ManualResetEventSlim Entered { get; } = new(false);

        public int Writes => _writes.Count;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public List<string> Lines()
            => Encoding.UTF8.GetString(_writes.SelectMany(w => w).ToArray()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _writes.Enqueue(buffer.ToArray());
            Entered.Set();
            Gate?.Wait();
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
