using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.FileProviders.Physical;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Primitives;

namespace XksGrpc.Files;

/// <summary>
/// The program's JSON configuration file, reloaded when that one file changes.
/// </summary>
/// <remarks>
/// <c>AddJsonFile(reloadOnChange: true)</c> watches the file's whole directory tree: in the lab the
/// logs and the audit log live under it, so every request woke a watcher thread in both processes
/// (13 % of the machine's CPU under load in a profile on 2026-11-29). Here the JSON source keeps the
/// framework's own reload (same timing, same handling of a bad file) but its file provider's change
/// signal comes from a <see cref="FileChangeMonitor"/> on the one file (its directory, not
/// recursively, plus a poll).
/// </remarks>
internal static class ConfigurationFileReload
{
    /// <summary>How often the file's stamp is polled, beside the watcher.</summary>
    public static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Options for <c>WebApplication.CreateBuilder</c>: the content root is the program's own directory
    /// and the default <c>appsettings*.json</c> sources are not watched. By default ASP.NET Core
    /// watches the content root (the current directory) recursively, which in the lab is the
    /// repository with the lab's logs in it.
    /// </summary>
    public static WebApplicationOptions HostOptions(string[] args) => new()
    {
        Args = ["--hostBuilder:reloadConfigOnChange=false", .. args],
        ContentRootPath = AppContext.BaseDirectory,
    };

    /// <summary>
    /// Adds <paramref name="path"/> as a required JSON source that reloads, while the host runs,
    /// when that file changes.
    /// </summary>
    public static void AddJsonFileReloadedOnChange(this IConfigurationManager configuration, IServiceCollection services, string path)
    {
        var file = new WatchedFile(Path.GetFullPath(path));
        configuration.AddJsonFile(source =>
        {
            source.FileProvider = file;
            source.Path = file.Name;
            source.Optional = false;
            source.ReloadOnChange = true;
            // The monitor has already waited for the writes to settle. The framework's own delay (250 ms)
            // is a Thread.Sleep on the thread that signals, here a thread-pool thread serving requests.
            source.ReloadDelay = 0;
        });
        services.AddHostedService(_ => new Watch(file));
    }

    /// <summary>A file provider for one directory whose change tokens fire when <see cref="Signal"/> is called for its one file.</summary>
    private sealed class WatchedFile(string fullPath) : IFileProvider, IDisposable
    {
        private readonly PhysicalFileProvider _files = new(Path.GetDirectoryName(fullPath)!, ExclusionFilters.None);
        private CancellationTokenSource _changed = new();

        public string FullPath { get; } = fullPath;

        public string Name { get; } = Path.GetFileName(fullPath);

        public IFileInfo GetFileInfo(string subpath) => _files.GetFileInfo(subpath);

        public IDirectoryContents GetDirectoryContents(string subpath) => _files.GetDirectoryContents(subpath);

        public IChangeToken Watch(string filter)
            => string.Equals(filter.TrimStart('/'), Name, StringComparison.Ordinal)
                ? new CancellationChangeToken(Volatile.Read(ref _changed).Token)
                : NullChangeToken.Singleton;

        /// <summary>The file may have changed: fires the tokens handed out so far.</summary>
        public void Signal() => Interlocked.Exchange(ref _changed, new CancellationTokenSource()).Cancel();

        public void Dispose() => _files.Dispose();
    }

    /// <summary>Starts the monitor with the host; the service provider disposes of it.</summary>
    private sealed class Watch(WatchedFile file) : IHostedService, IDisposable
    {
        private FileChangeMonitor? _monitor;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _monitor ??= new FileChangeMonitor(file.FullPath, file.Signal, PollInterval);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
            _monitor?.Dispose();
            file.Dispose();
        }
    }
}
