using Microsoft.Extensions.Time.Testing;
using XksGrpc.Files;

namespace XksGrpc.Edge.Tests.Configuration;

/// <summary>
/// The file monitor behind configuration, policy and CA reloads: a change seen by the poll is
/// debounced like a watcher event (150 ms after the last sign of it), so a file still being
/// written is not read half-way and no consumer has to sleep on a thread-pool thread instead.
/// </summary>
public sealed class FileChangeMonitorTests : IDisposable
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(2);

    private readonly string _directory = Directory.CreateTempSubdirectory("xksgrpc-monitor-").FullName;

    [Fact]
    public void AChangeFoundByThePoll_FiresOnceAfterTheDebounce_NotAtThePoll()
    {
        // A directory that does not exist yet has no watcher: only the poll can see the file appear.
        string path = Path.Combine(_directory, "later", "policy.json");
        var time = new FakeTimeProvider();
        int fired = 0;
        using var monitor = new FileChangeMonitor(path, () => Interlocked.Increment(ref fired), Poll, time);

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, "{}");

        time.Advance(Poll);
        Assert.Equal(0, Volatile.Read(ref fired));
        time.Advance(TimeSpan.FromMilliseconds(149));
        Assert.Equal(0, Volatile.Read(ref fired));
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(1, Volatile.Read(ref fired));

        // The stamp was taken when the callback ran: the next polls see nothing new.
        time.Advance(Poll * 3);
        Assert.Equal(1, Volatile.Read(ref fired));
    }

    [Fact]
    public void NoChange_NeverFires()
    {
        string path = Path.Combine(_directory, "edge.json");
        File.WriteAllText(path, "{}");
        var time = new FakeTimeProvider();
        int fired = 0;
        using var monitor = new FileChangeMonitor(path, () => Interlocked.Increment(ref fired), Poll, time);

        time.Advance(Poll * 5);
        Assert.Equal(0, Volatile.Read(ref fired));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
