using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace XksGrpc.Files;

/// <summary>
/// The program's JSON configuration file, reloaded when that one file changes.
/// </summary>
/// <remarks>
/// <c>AddJsonFile(reloadOnChange: true)</c> watches the file's whole directory tree: in the lab the
/// logs and the audit log live under it, so every request woke a watcher thread in both processes
/// (13 % of the machine's CPU under load in a profile on 2026-11-29). A <see cref="FileChangeMonitor"/>
/// watches the one file (its directory, not recursively, plus a poll) and reloads the configuration
/// root, which fires its reload token exactly as the built-in reload does.
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
    /// Adds <paramref name="path"/> as a required JSON source and, while the host runs, reloads
    /// <paramref name="configuration"/> when that file changes.
    /// </summary>
    public static void AddJsonFileReloadedOnChange(this IConfigurationManager configuration, IServiceCollection services, string path)
    {
        string fullPath = Path.GetFullPath(path);
        configuration.AddJsonFile(fullPath, optional: false, reloadOnChange: false);
        var root = (IConfigurationRoot)configuration;
        services.AddHostedService(_ => new Watch(fullPath, root));
    }

    /// <summary>Starts the monitor with the host; the service provider disposes of it.</summary>
    private sealed class Watch(string path, IConfigurationRoot root) : IHostedService, IDisposable
    {
        private FileChangeMonitor? _monitor;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _monitor ??= new FileChangeMonitor(path, root.Reload, PollInterval);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose() => _monitor?.Dispose();
    }
}
