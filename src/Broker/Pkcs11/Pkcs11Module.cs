using Microsoft.Extensions.Logging;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;
using XksGrpc.Broker.Logging;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// The loaded PKCS#11 module (AppType.MultiThreaded: the module does its own locking). When the module
/// reports CKR_CRYPTOKI_NOT_INITIALIZED (someone called C_Finalize), a new instance is loaded and
/// initialized. Retired instances are kept referenced and never disposed: disposing would call
/// C_Finalize again and tear the module down under the new instance.
/// A PKCS#11 module is process-global (one C_Initialize per process), so instances are shared by path
/// and reference counted: <see cref="Acquire"/> and <see cref="Dispose"/> pair up, and only the last
/// Dispose calls C_Finalize (the admin command and the server may share a process, as tests do).
/// <para>
/// A module may cache what it found at C_Initialize (SoftHSM reads its token directory then, and a
/// token whose files went away stays invalid until the next C_Initialize). When every token of the
/// module is away, the supervisor calls <see cref="TryReinitialize"/>: once no connection is live, no
/// session is lent and no connect is under way, C_Finalize and a fresh C_Initialize read the tokens
/// again. The native library stays mapped throughout (a handle of our own), so only the module's state
/// is rebuilt, never its code unloaded.
/// </para>
/// </summary>
internal sealed class Pkcs11Module : IDisposable
{
    private static readonly Dictionary<string, Pkcs11Module> Shared = new(StringComparer.Ordinal);
    private int _references;

    private readonly string _modulePath;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<IPkcs11Library> _retired = [];
    private readonly ReaderWriterLockSlim _generation = new();
    private IPkcs11Library? _library;
    private bool _disposed;
    private int _liveConnections;
    private int _lentSessions;
    private IntPtr _pin;

    /// <summary>The process's module for <paramref name="modulePath"/>; dispose once when done.</summary>
    public static Pkcs11Module Acquire(string modulePath, ILogger logger)
    {
        lock (Shared)
        {
            if (!Shared.TryGetValue(modulePath, out var module))
            {
                Shared[modulePath] = module = new Pkcs11Module(modulePath, logger);
            }

            module._references++;
            return module;
        }
    }

    private Pkcs11Module(string modulePath, ILogger logger)
    {
        NativeLibraryResolver.Register();
        _modulePath = modulePath;
        _logger = logger;
        Factories = new Pkcs11InteropFactories();
    }

    public Pkcs11InteropFactories Factories { get; }

    /// <summary>The module's manufacturer id (the spec's ekmVendor), once loaded.</summary>
    public string? Manufacturer { get; private set; }

    /// <summary>The current library, loading it if needed.</summary>
    public IPkcs11Library GetLibrary()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_library is null)
            {
                if (_pin == IntPtr.Zero)
                {
                    // Keeps the module mapped when a re-initialization disposes (and dlcloses) an instance.
                    _pin = System.Runtime.InteropServices.NativeLibrary.Load(_modulePath);
                }

                _library = Factories.Pkcs11LibraryFactory.LoadPkcs11Library(Factories, _modulePath, AppType.MultiThreaded);
                var info = _library.GetInfo();
                Manufacturer = info.ManufacturerId.Trim();
                BrokerLog.ModuleLoaded(_logger, _modulePath, Manufacturer, info.LibraryDescription.Trim());
            }

            return _library;
        }
    }

    /// <summary>
    /// The module said CKR_CRYPTOKI_NOT_INITIALIZED through <paramref name="failed"/>: the next
    /// <see cref="GetLibrary"/> loads and initializes a fresh instance.
    /// </summary>
    public void ReportNotInitialized(IPkcs11Library failed)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(_library, failed))
            {
                return;
            }

            BrokerLog.ModuleReloading(_logger, _modulePath);
            _retired.Add(failed);
            _library = null;
        }
    }

    /// <summary>Runs a token's connect (open sessions, log in, read keys) so that no re-initialization overlaps it.</summary>
    public T Connecting<T>(Func<IPkcs11Library, T> connect)
    {
        _generation.EnterReadLock();
        try
        {
            return connect(GetLibrary());
        }
        finally
        {
            _generation.ExitReadLock();
        }
    }

    /// <summary>A connection was published (counts towards "some token of the module is live").</summary>
    public void ConnectionOpened() => Interlocked.Increment(ref _liveConnections);

    /// <summary>A live connection was retired.</summary>
    public void ConnectionClosed() => Interlocked.Decrement(ref _liveConnections);

    /// <summary>A pooled session was lent to an operation.</summary>
    public void SessionLent() => Interlocked.Increment(ref _lentSessions);

    /// <summary>A lent session came back (and was closed, if its connection was retired meanwhile).</summary>
    public void SessionReturned() => Interlocked.Decrement(ref _lentSessions);

    /// <summary>
    /// C_Finalize and, on the next <see cref="GetLibrary"/>, C_Initialize again, but only while no
    /// connection is live and, within <paramref name="drain"/>, every lent session has come back:
    /// nothing may use a session across the re-initialization. False when that was not the case.
    /// </summary>
    public bool TryReinitialize(TimeSpan drain)
    {
        _generation.EnterWriteLock();
        try
        {
            if (Volatile.Read(ref _liveConnections) > 0)
            {
                return false;
            }

            var until = Environment.TickCount64 + (long)drain.TotalMilliseconds;
            while (Volatile.Read(ref _lentSessions) > 0)
            {
                if (Environment.TickCount64 > until)
                {
                    return false;
                }

                Thread.Sleep(10);
            }

            lock (_gate)
            {
                if (_disposed || _library is null)
                {
                    return _library is null;
                }

                try
                {
                    _library.Dispose(); // C_Finalize: every session and login of the old generation ends here
                }
                catch (Pkcs11Exception)
                {
                    // A module that is already finalized: the next C_Initialize starts it anyway.
                }

                _library = null;
                BrokerLog.ModuleReinitialized(_logger, _modulePath);
                return true;
            }
        }
        finally
        {
            _generation.ExitWriteLock();
        }
    }

    public void Dispose()
    {
        lock (Shared)
        {
            if (--_references > 0)
            {
                return;
            }

            Shared.Remove(_modulePath);
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            try
            {
                _library?.Dispose(); // C_Finalize: closes every session
            }
            catch (Pkcs11Exception)
            {
                // Finalizing a module that is already gone is not an error worth surfacing at shutdown.
            }

            _library = null;
        }
    }
}
