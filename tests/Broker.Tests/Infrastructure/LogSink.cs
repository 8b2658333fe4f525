using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace XksGrpc.Broker.Tests.Infrastructure;

/// <summary>Collects every log event of a hosted broker, so tests can fail on unexpected errors.</summary>
internal sealed class LogSink : ILoggerProvider
{
    public sealed record Entry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new SinkLogger(this, categoryName);

    public void Clear() => Entries.Clear();

    public IReadOnlyList<Entry> Errors => Entries.Where(e => e.Level >= LogLevel.Error).ToList();

    public void Dispose()
    {
    }

    private sealed class SinkLogger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Debug;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Entries.Enqueue(new Entry(category, logLevel, eventId, formatter(state, exception), exception));
    }
}
