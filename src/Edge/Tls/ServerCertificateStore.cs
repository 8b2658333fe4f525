using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Logging;
using XksGrpc.Edge.Metrics;

namespace XksGrpc.Edge.Tls;

/// <summary>
/// The server certificate and key, from PEM files, reloaded without a restart when either file
/// changes (a FileSystemWatcher on their directories, plus a poll as a safety net for editors and
/// mounts that do not raise events). A failed reload keeps the previous certificate.
/// </summary>
internal sealed class ServerCertificateStore : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(10);

    private readonly string _certificateFile;
    private readonly string _keyFile;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly List<FileSystemWatcher> _watchers = [];
    private readonly ITimer _poll;
    private readonly Lock _reloadLock = new();
    private X509Certificate2 _current;
    private (DateTime, DateTime, long, long) _stamp;
    private ITimer? _debounce;

    public ServerCertificateStore(IOptions<EdgeOptions> options, ILogger<ServerCertificateStore> logger, TimeProvider time, EdgeMetrics metrics)
    {
        _certificateFile = options.Value.Tls.CertificateFile;
        _keyFile = options.Value.Tls.KeyFile;
        _logger = logger;
        _time = time;
        _stamp = Stamp();
        _current = Load();
        Log(_current);

        foreach (var directory in new[] { Path.GetDirectoryName(_certificateFile), Path.GetDirectoryName(_keyFile) }.Distinct())
        {
            if (string.IsNullOrEmpty(directory) || !Directory.Exists(directory))
            {
                continue;
            }

            var watcher = new FileSystemWatcher(directory) { NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.FileName | NotifyFilters.Size | NotifyFilters.CreationTime };
            watcher.Changed += OnFileEvent;
            watcher.Created += OnFileEvent;
            watcher.Renamed += OnFileEvent;
            watcher.EnableRaisingEvents = true;
            _watchers.Add(watcher);
        }

        _poll = time.CreateTimer(_ => ReloadIfChanged(), null, PollInterval, PollInterval);
        metrics.ObserveCertificateDaysToExpiry(() => ServerCertificateExpiry.DaysToExpire(Current, _time));
    }

    /// <summary>The certificate presented to new TLS connections.</summary>
    public X509Certificate2 Current => Volatile.Read(ref _current);

    /// <summary>Whole days until the certificate expires (XksProxyCertificateDaysToExpire analogue).</summary>
    public int DaysToExpiry => (int)Math.Floor((Current.NotAfter.ToUniversalTime() - _time.GetUtcNow().UtcDateTime).TotalDays);

    /// <summary>Reloads now if the files changed since the last load; returns whether a new certificate is in use.</summary>
    public bool ReloadIfChanged()
    {
        lock (_reloadLock)
        {
            var stamp = Stamp();
            if (stamp == _stamp)
            {
                return false;
            }

            try
            {
                var certificate = Load();
                _stamp = stamp;
                Volatile.Write(ref _current, certificate);
                Log(certificate);
                return true;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException or ArgumentException)
            {
                // Half-written files (a cert without its new key) are retried on the next event or poll.
                EdgeLog.CertificateReloadFailed(_logger, ex);
                return false;
            }
        }
    }

    private void OnFileEvent(object sender, FileSystemEventArgs e)
    {
        if (!PathEquals(e.FullPath, _certificateFile) && !PathEquals(e.FullPath, _keyFile))
        {
            return;
        }

        // Debounce: certificate and key are usually written one after the other.
        var debounce = _time.CreateTimer(_ => ReloadIfChanged(), null, TimeSpan.FromMilliseconds(200), Timeout.InfiniteTimeSpan);
        Interlocked.Exchange(ref _debounce, debounce)?.Dispose();
    }

    private static bool PathEquals(string a, string b) => string.Equals(Path.GetFullPath(a), Path.GetFullPath(b), StringComparison.Ordinal);

    private X509Certificate2 Load()
    {
        using var ephemeral = X509Certificate2.CreateFromPemFile(_certificateFile, _keyFile);

        // Re-import so the private key is usable by SslStream on every platform.
        return X509CertificateLoader.LoadPkcs12(ephemeral.Export(X509ContentType.Pkcs12), null);
    }

    private (DateTime, DateTime, long, long) Stamp()
    {
        var certificate = new FileInfo(_certificateFile);
        var key = new FileInfo(_keyFile);
        return (certificate.Exists ? certificate.LastWriteTimeUtc : default, key.Exists ? key.LastWriteTimeUtc : default,
            certificate.Exists ? certificate.Length : -1, key.Exists ? key.Length : -1);
    }

    private void Log(X509Certificate2 certificate)
        => EdgeLog.CertificateLoaded(_logger, certificate.Subject, certificate.NotAfter.ToUniversalTime(), DaysToExpiry);

    public void Dispose()
    {
        foreach (var watcher in _watchers)
        {
            watcher.Dispose();
        }

        _poll.Dispose();
        _debounce?.Dispose();
    }
}
