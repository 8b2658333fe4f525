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
/// </summary>
internal sealed class Pkcs11Module : IDisposable
{
    private static readonly Dictionary<string, Pkcs11Module> Shared = new(StringComparer.Ordinal);
    private int _references;

    private readonly string _modulePath;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<IPkcs11Library> _retired = [];
    private IPkcs11Library? _library;
    private bool _disposed;

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
