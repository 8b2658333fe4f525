using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>Keeps every log line of the hosted edge in memory (for assertions on what is logged).</summary>
internal sealed class TestLogProvider : ILoggerProvider
{
    public static ConcurrentQueue<(LogLevel Level, string Category, int EventId, string Message)> Lines { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                Lines.Enqueue((logLevel, category, eventId.Id, formatter(state, exception) + (exception is null ? "" : " " + exception)));
            }
        }
    }
}
