using System.Globalization;
using Microsoft.Extensions.Logging;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Logging;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// One configured token (an HSM of the cluster) and its current connection, if any. Faults retire the
/// connection at once (requests fail fast or fail over); <see cref="SuperviseAsync"/> reconnects and
/// logs in again with exponential backoff.
/// </summary>
internal sealed class HsmToken
{
    private readonly Pkcs11Module _module;
    private readonly Pkcs11Options _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _faulted = new(0, 1);
    private TokenConnection? _connection;

    public HsmToken(TokenOptions token, Pkcs11Module module, Pkcs11Options options, ILogger logger)
    {
        Options = token;
        _module = module;
        _options = options;
        _logger = logger;
    }

    public TokenOptions Options { get; }
    public string Id => Options.Id;

    /// <summary>Manufacturer, model, versions and serial as the token last reported them.</summary>
    public string Model { get; private set; } = "unknown (never connected)";

    /// <summary>The live connection, or null while the token is away.</summary>
    public TokenConnection? Connection => Volatile.Read(ref _connection);

    /// <summary>Why the last connect failed (safe to log).</summary>
    public string? LastError { get; private set; }

    /// <summary>Connects and logs in; throws when the token cannot be reached.</summary>
    public TokenConnection Connect() => _module.Connecting(ConnectTo);

    private TokenConnection ConnectTo(IPkcs11Library library)
    {
        var (slot, info) = FindSlot(library, Options);
        Model = string.Create(CultureInfo.InvariantCulture,
            $"{info.ManufacturerId.Trim()} {info.Model.Trim()} (hw {info.HardwareVersion}, fw {info.FirmwareVersion}, serial {info.SerialNumber.Trim()})");

        var opened = new List<ISession>();
        try
        {
            var admin = slot.OpenSession(SessionType.ReadWrite);
            opened.Add(admin);
            var pin = PinSource.Read(Options);
            try
            {
                admin.Login(CKU.CKU_USER, pin);
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
            {
                // Login is per application and token: a previous connection's login still holds.
            }
            finally
            {
                Array.Clear(pin);
            }

            var sessions = new List<ISession>(_options.SessionPoolSize);
            for (var i = 0; i < _options.SessionPoolSize; i++)
            {
                var s = slot.OpenSession(SessionType.ReadOnly);
                opened.Add(s);
                sessions.Add(s);
            }

            var connection = new TokenConnection(this, _module, library, slot, admin, sessions, _options.KeyRefreshInterval, _options.UseSessionKeyCopies, _logger);
            var catalog = connection.RefreshCatalog();
            if (catalog.Count == 0)
            {
                // A token that lost all its keys (its files gone, or wiped) can serve nothing: it counts as away.
                connection.Retire();
                throw new TokenUnavailableException($"token '{Id}' lists no AES-256 key");
            }

            _module.ConnectionOpened();
            Volatile.Write(ref _connection, connection);
            LastError = null;
            BrokerLog.TokenConnected(_logger, Id, slot.SlotId, Model, sessions.Count, catalog.Count);
            return connection;
        }
        catch
        {
            foreach (var s in opened)
            {
                try
                {
                    s.CloseSession();
                }
                catch (Pkcs11Exception)
                {
                }
            }

            throw;
        }
    }

    /// <summary>The slot holding the configured token (by label or serial), or TokenUnavailableException.</summary>
    public static (ISlot Slot, ITokenInfo Info) FindSlot(IPkcs11Library library, TokenOptions options)
    {
        foreach (var candidate in library.GetSlotList(SlotsType.WithTokenPresent))
        {
            var info = candidate.GetTokenInfo();
            if ((options.Label is { Length: > 0 } label && info.Label.Trim() == label) ||
                (options.Serial is { Length: > 0 } serial && info.SerialNumber.Trim() == serial))
            {
                return (candidate, info);
            }
        }

        throw new TokenUnavailableException(options.Label is { Length: > 0 }
            ? $"no token labelled '{options.Label}' is present"
            : $"no token with serial '{options.Serial}' is present");
    }

    /// <summary>
    /// <paramref name="connection"/> failed with <paramref name="rv"/>: retire it (once) and wake the
    /// supervisor. A CKR_CRYPTOKI_NOT_INITIALIZED also marks the module for reloading.
    /// </summary>
    public void ReportFault(TokenConnection connection, CKR rv, string operation)
    {
        if (rv == CKR.CKR_CRYPTOKI_NOT_INITIALIZED)
        {
            _module.ReportNotInitialized(connection.Library);
        }

        ReportFault(connection, rv.ToString(), operation);
    }

    /// <summary><paramref name="connection"/> is unusable for <paramref name="reason"/> (a CKR name or NO_KEYS).</summary>
    public void ReportFault(TokenConnection connection, string reason, string operation)
    {
        if (Interlocked.CompareExchange(ref _connection, null, connection) != connection)
        {
            return;
        }

        BrokerLog.TokenFaulted(_logger, Id, reason, operation);
        LastError = $"{reason} during {operation}";
        connection.Retire();
        _module.ConnectionClosed();
        try
        {
            _faulted.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already signalled.
        }
    }

    /// <summary>Drops the connection at shutdown.</summary>
    public void Disconnect()
    {
        var connection = Interlocked.Exchange(ref _connection, null);
        if (connection is not null)
        {
            connection.Retire();
            _module.ConnectionClosed();
            BrokerLog.TokenDisconnected(_logger, Id);
        }
    }

    /// <summary>Keeps the token connected: reconnects with exponential backoff whenever it is away.</summary>
    public async Task SuperviseAsync(CancellationToken cancellationToken)
    {
        var delay = _options.ReconnectMinDelay;
        while (!cancellationToken.IsCancellationRequested)
        {
            if (Connection is not null)
            {
                await _faulted.WaitAsync(cancellationToken).ConfigureAwait(false);
                delay = _options.ReconnectMinDelay;
                continue;
            }

            if (TryConnect(delay))
            {
                delay = _options.ReconnectMinDelay;
                continue;
            }

            // The module may hold on to what it found at C_Initialize (SoftHSM's token list): when no
            // token of it is connected and no session is in use, start it afresh for the next attempt.
            _module.TryReinitialize(_options.SessionWaitTimeout);

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.ReconnectMaxDelay.Ticks));
        }
    }

    /// <summary>One connect attempt; logs and returns false on any failure (the supervisor must never die).</summary>
    public bool TryConnect(TimeSpan nextDelay)
    {
        try
        {
            Connect();
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Messages of these exceptions carry return codes and paths, never the PIN.
            var reason = e switch
            {
                Pkcs11Exception p => $"{p.Method} returned {p.RV}",
                TokenUnavailableException or InvalidOperationException or IOException or UnauthorizedAccessException => e.Message,
                _ => $"{e.GetType().Name}: {e.Message}",
            };
            LastError = reason;
            if (e is Pkcs11Exception { RV: CKR.CKR_CRYPTOKI_NOT_INITIALIZED })
            {
                try
                {
                    _module.ReportNotInitialized(_module.GetLibrary());
                }
                catch (Exception reload) when (reload is not OperationCanceledException)
                {
                    LastError = $"{reason}; reload failed: {reload.GetType().Name}";
                }
            }

            BrokerLog.TokenConnectFailed(_logger, Id, reason, nextDelay.TotalMilliseconds);
            return false;
        }
    }
}

/// <summary>The configured token is not present in the module.</summary>
internal sealed class TokenUnavailableException(string message) : Exception(message);
