using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.Logging;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// A connected, logged-in token: one read-write session kept open for the login, catalog reads and
/// admin, and a bounded pool of sessions for requests. Acquire/Release take no lock: a semaphore
/// counts free sessions and a concurrent queue holds them. A connection is never repaired: on a fault
/// it is retired whole and <see cref="HsmToken"/> builds a new one.
/// </summary>
internal sealed class TokenConnection
{
    /// <summary>A configured key missing from the catalog re-reads it at most this often.</summary>
    private const long MissRefreshMs = 1000;

    private readonly SemaphoreSlim _available;
    private readonly ConcurrentQueue<PooledSession> _idle = new();
    private readonly ISession _adminSession;
    private readonly Lock _adminGate = new();
    private readonly long _refreshIntervalMs;
    private readonly ILogger _logger;
    private readonly int _size;
    private readonly bool _useSessionCopies;
    private readonly Dictionary<ulong, (IObjectHandle Copy, KeyUsage Usage)> _copies = [];
    private volatile KeyCatalog _catalog = KeyCatalog.Empty;
    private volatile bool _retired;
    private int _refreshing;

    private readonly Pkcs11Module _module;

    public TokenConnection(HsmToken token, Pkcs11Module module, IPkcs11Library library, ISlot slot, ISession adminSession,
        IReadOnlyList<ISession> sessions, TimeSpan refreshInterval, bool useSessionCopies, ILogger logger)
    {
        _module = module;
        var factories = module.Factories;
        _useSessionCopies = useSessionCopies;
        Token = token;
        Library = library;
        Slot = slot;
        Factories = factories;
        _adminSession = adminSession;
        _refreshIntervalMs = (long)refreshInterval.TotalMilliseconds;
        _logger = logger;
        _size = sessions.Count;
        foreach (var s in sessions)
        {
            _idle.Enqueue(new PooledSession(this, s, factories));
        }

        _available = new SemaphoreSlim(_size, int.MaxValue);
    }

    public HsmToken Token { get; }
    public IPkcs11Library Library { get; }
    public ISlot Slot { get; }
    public Pkcs11InteropFactories Factories { get; }
    public bool IsRetired => _retired;
    public int PoolSize => _size;
    public int InUse => _retired ? 0 : Math.Max(0, _size - _available.CurrentCount);

    /// <summary>The key catalog; a stale one is refreshed in the background while it keeps serving.</summary>
    public KeyCatalog Catalog
    {
        get
        {
            var catalog = _catalog;
            if (Environment.TickCount64 - catalog.LoadedAtMs > _refreshIntervalMs &&
                Interlocked.CompareExchange(ref _refreshing, 1, 0) == 0)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static c => c.RefreshInBackground(), this, preferLocal: false);
            }

            return catalog;
        }
    }

    /// <summary>A free session within <paramref name="timeout"/>, else DependencyTimeoutException.</summary>
    public ValueTask<PooledSession?> AcquireAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (_available.Wait(0))
        {
            return ValueTask.FromResult(TakeIdle());
        }

        return AcquireSlowAsync(timeout, cancellationToken);
    }

    private async ValueTask<PooledSession?> AcquireSlowAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (!await _available.WaitAsync(timeout, cancellationToken).ConfigureAwait(false))
        {
            throw XksException.DependencyTimeout($"No HSM session of token '{Token.Id}' became free within {timeout.TotalMilliseconds:F0} ms.");
        }

        return TakeIdle();
    }

    /// <summary>Null when the connection was retired meanwhile.</summary>
    private PooledSession? TakeIdle()
    {
        if (_retired || !_idle.TryDequeue(out var session))
        {
            _available.Release();
            return null;
        }

        _module.SessionLent();
        return session;
    }

    public void Release(PooledSession session)
    {
        try
        {
            if (_retired)
            {
                session.Close();
                return;
            }

            _idle.Enqueue(session);
            _available.Release();
            if (_retired && _idle.TryDequeue(out var late))
            {
                late.Close();
            }
        }
        finally
        {
            _module.SessionReturned();
        }
    }

    /// <summary>Runs <paramref name="action"/> on the admin session (catalog reads, key admin).</summary>
    public T WithAdminSession<T>(Func<ISession, T> action)
    {
        lock (_adminGate)
        {
            ThrowIfRetired();
            return action(_adminSession);
        }
    }

    /// <summary>
    /// The admin session is closed by <see cref="Retire"/> under the same lock: after that nothing may
    /// touch it (the module may be re-initialized). Reported as the session being closed.
    /// </summary>
    private void ThrowIfRetired()
    {
        if (_retired)
        {
            throw new Pkcs11Exception("C_FindObjectsInit", CKR.CKR_SESSION_CLOSED);
        }
    }

    /// <summary>Re-reads the catalog now.</summary>
    public KeyCatalog RefreshCatalog()
    {
        lock (_adminGate)
        {
            ThrowIfRetired();
            var entries = KeyReader.ReadAll(_adminSession, Factories);
            if (_useSessionCopies)
            {
                entries = WithSessionCopies(entries);
            }

            var catalog = KeyCatalog.Build(entries, Environment.TickCount64);
            foreach (var family in catalog.Families)
            {
                if (family.FirstDuplicate is { } d)
                {
                    BrokerLog.DuplicateKeyLabel(_logger, Token.Id, d.Label, d.Duplicates);
                }
            }

            _catalog = catalog;
            BrokerLog.KeyCatalogLoaded(_logger, Token.Id, catalog.Count);
            return catalog;
        }
    }

    /// <summary>
    /// Serves each enabled key through a session copy (C_CopyObject with CKA_TOKEN false, still private,
    /// sensitive and non-extractable, gone with the admin session). With SoftHSM a token object is
    /// re-validated against its file and its value decrypted on every C_*Init; a session copy runs about
    /// 2.5 times faster. A module that refuses the copy is served from the token object.
    /// </summary>
    private List<KeyCatalog.Entry> WithSessionCopies(List<KeyCatalog.Entry> entries)
    {
        var live = new HashSet<ulong>();
        var served = new List<KeyCatalog.Entry>(entries.Count);
        foreach (var entry in entries)
        {
            var id = entry.Handle.ObjectId;
            live.Add(id);
            if (!entry.Enabled)
            {
                served.Add(entry);
                continue;
            }

            if (_copies.TryGetValue(id, out var existing) && existing.Usage == entry.Usage)
            {
                served.Add(entry with { Handle = existing.Copy });
                continue;
            }

            try
            {
                var copy = _adminSession.CopyObject(entry.Handle, [Factories.ObjectAttributeFactory.Create(CKA.CKA_TOKEN, false)]);
                if (_copies.TryGetValue(id, out var stale))
                {
                    DestroyQuietly(stale.Copy);
                }

                _copies[id] = (copy, entry.Usage);
                served.Add(entry with { Handle = copy });
            }
            catch (Pkcs11Exception e) when (CkrMapper.Map(e.RV, HsmCall.Other).Fault == HsmFault.Request)
            {
                served.Add(entry);
            }
        }

        foreach (var id in _copies.Keys.Where(id => !live.Contains(id)).ToList())
        {
            DestroyQuietly(_copies[id].Copy);
            _copies.Remove(id);
        }

        return served;
    }

    private void DestroyQuietly(IObjectHandle handle)
    {
        try
        {
            _adminSession.DestroyObject(handle);
        }
        catch (Pkcs11Exception)
        {
            // Already gone.
        }
    }

    /// <summary>After a miss, re-reads the catalog unless it is very fresh (so unknown ids cannot hammer the HSM).</summary>
    public KeyCatalog RefreshCatalogAfterMiss()
    {
        var catalog = _catalog;
        return Environment.TickCount64 - catalog.LoadedAtMs < MissRefreshMs ? catalog : RefreshCatalog();
    }

    private void RefreshInBackground()
    {
        try
        {
            if (!_retired)
            {
                Probe();
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
            BrokerLog.KeyCatalogRefreshFailed(_logger, Token.Id, e.GetType().Name);
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    /// <summary>
    /// Reads the token's objects again (not the session copies the requests use, which outlive the
    /// token's files): a failure, or a token that lists no key at all any more, means the token is away
    /// and the connection is retired. True when the token is still there.
    /// </summary>
    public bool Probe()
    {
        try
        {
            if (RefreshCatalog().Count > 0)
            {
                return true;
            }

            Token.ReportFault(this, "NO_KEYS", "key catalog refresh (the token lists no key any more)");
            return false;
        }
        catch (Pkcs11Exception e)
        {
            BrokerLog.KeyCatalogRefreshFailed(_logger, Token.Id, e.RV.ToString());
            Token.ReportFault(this, e.RV.ToString(), "key catalog refresh");
            return false;
        }
    }

    /// <summary>Stops lending sessions, wakes waiters, and closes every idle session.</summary>
    public void Retire()
    {
        _retired = true;
        _available.Release(_size); // waiters wake, see the retirement, and fail over
        while (_idle.TryDequeue(out var s))
        {
            s.Close();
        }

        lock (_adminGate)
        {
            try
            {
                _adminSession.CloseSession();
            }
            catch (Exception e) when (e is Pkcs11Exception or ObjectDisposedException)
            {
                // Already gone with the token or the module.
            }
        }
    }
}
