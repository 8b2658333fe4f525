namespace XksGrpc.Files;

/// <summary>
/// Calls back when one file may have changed, so configuration it holds (a policy, a CA bundle)
/// reloads without a restart. A <see cref="FileSystemWatcher"/> gives a prompt signal; a poll of the
/// file's stamp (final symlink target, mtime, length) every <c>pollInterval</c> is the fallback for
/// file systems without notifications and for a watcher that overflowed. Both are debounced: the
/// callback runs 150 ms after the last sign of a change, so a file being written is read whole.
/// </summary>
/// <remarks>
/// The callback may fire for a file that did not change (duplicate watcher events), so the consumer
/// compares content (e.g. by hash) before acting. Callbacks never overlap. Exceptions escaping the
/// callback are swallowed, so the consumer must record its own failures.
/// </remarks>
internal sealed class FileChangeMonitor : IDisposable
{
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(150);

    private readonly string _path;
    private readonly Action _onChanged;
    private readonly Lock _gate = new();
    private readonly ITimer _poll;
    private readonly ITimer _debounce;
    private readonly FileSystemWatcher? _watcher;
    private (string? Target, DateTime WriteTime, long Length) _stamp;
    private bool _disposed;

    public FileChangeMonitor(string path, Action onChanged, TimeSpan pollInterval, TimeProvider? timeProvider = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(onChanged);
        _path = System.IO.Path.GetFullPath(path);
        _onChanged = onChanged;
        _stamp = ReadStamp(_path);
        TimeProvider clock = timeProvider ?? TimeProvider.System;
        _debounce = clock.CreateTimer(_ => Fire(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _poll = clock.CreateTimer(_ => Poll(), null, pollInterval, pollInterval);
        _watcher = TryWatch(_path, Arm);
    }

    /// <summary>The watched file's full path.</summary>
    public string FilePath => _path;

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        _watcher?.Dispose();
        _poll.Dispose();
        _debounce.Dispose();
    }

    private void Poll()
    {
        var stamp = ReadStamp(_path);
        if (stamp != _stamp)
        {
            // Debounced like a watcher event: the writer may still be writing.
            Arm();
        }
    }

    private void Arm() => _debounce.Change(Debounce, Timeout.InfiniteTimeSpan);

    private void Fire()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _stamp = ReadStamp(_path);
            try
            {
                _onChanged();
            }
            catch (Exception)
            {
                // The consumer records its own failures; a timer thread must not die.
            }
        }
    }

    private static (string?, DateTime, long) ReadStamp(string path)
    {
        try
        {
            var info = new FileInfo(path);
            string? target = info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName;
            var final = target is null ? info : new FileInfo(target);
            return final.Exists ? (target, final.LastWriteTimeUtc, final.Length) : (target, DateTime.MinValue, -1);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return (null, DateTime.MinValue, -1);
        }
    }

    private static FileSystemWatcher? TryWatch(string path, Action signal)
    {
        string? directory = System.IO.Path.GetDirectoryName(path);
        if (directory is null || !Directory.Exists(directory))
        {
            return null;
        }

        try
        {
            var watcher = new FileSystemWatcher(directory)
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
                IncludeSubdirectories = false,
            };
            string name = System.IO.Path.GetFileName(path);
            FileSystemEventHandler onEvent = (_, e) =>
            {
                if (string.Equals(e.Name, name, StringComparison.Ordinal))
                {
                    signal();
                }
            };
            watcher.Changed += onEvent;
            watcher.Created += onEvent;
            watcher.Deleted += onEvent;
            watcher.Renamed += (_, e) =>
            {
                if (e.Name == name || e.OldName == name)
                {
                    signal();
                }
            };

            // An overflow loses events: let the poll catch up, but check right away as well.
            watcher.Error += (_, _) => signal();
            watcher.EnableRaisingEvents = true;
            return watcher;
        }
        catch (Exception ex) when (ex is IOException or ArgumentException or PlatformNotSupportedException or UnauthorizedAccessException)
        {
            return null; // e.g. inotify instance limit reached: polling alone still works
        }
    }
}
