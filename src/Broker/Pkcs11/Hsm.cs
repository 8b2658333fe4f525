using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Net.Pkcs11Interop.Common;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.Telemetry;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// The HSM cluster: the configured tokens in order. Runs an operation on a pooled session of the
/// first connected token, failing over to the next one when a token faults; maps every PKCS#11
/// failure through <see cref="CkrMapper"/>. While no token is connected, requests fail at once with
/// InternalException ("failure of the backing key manager", spec error table); a pool that stays
/// busy past SessionWaitTimeout answers DependencyTimeoutException.
/// </summary>
internal sealed class Hsm : IDisposable
{
    private readonly HsmToken[] _tokens;
    private readonly TimeSpan _sessionWait;
    private readonly HsmMetrics _metrics;

    public Hsm(IOptions<BrokerOptions> options, ILoggerFactory loggerFactory, HsmMetrics metrics)
    {
        _metrics = metrics;
        var pkcs11 = options.Value.Pkcs11;
        var logger = loggerFactory.CreateLogger("XksGrpc.Broker.Pkcs11");
        Module = Pkcs11Module.Acquire(pkcs11.ModulePath, logger);
        _tokens = pkcs11.Tokens.Select(t => new HsmToken(t, Module, pkcs11, logger)).ToArray();
        _sessionWait = pkcs11.SessionWaitTimeout;
        HealthKeyLabel = pkcs11.HealthKeyLabel;
    }

    public Pkcs11Module Module { get; }
    public IReadOnlyList<HsmToken> Tokens => _tokens;
    public string HealthKeyLabel { get; }

    /// <summary>
    /// Runs <paramref name="operation"/> on a session of the first healthy token, failing over in
    /// configuration order (<paramref name="name"/>, one of <see cref="HsmOperation"/>, tags its latency). <paramref name="operation"/> is synchronous (PKCS#11 calls block) and may be
    /// run again on another token, so it must not have side effects outside its result.
    /// </summary>
    public async ValueTask<TResult> RunAsync<TState, TResult>(string name, TState state, Func<PooledSession, TState, TResult> operation, CancellationToken cancellationToken)
    {
        XksException? failure = null;
        foreach (var token in _tokens)
        {
            var outcome = await TryRunOnAsync(name, token, state, operation, cancellationToken).ConfigureAwait(false);
            if (outcome.Failure is null)
            {
                return outcome.Result!;
            }

            failure = outcome.Failure;
        }

        throw failure ?? XksException.Internal("No HSM token is available.");
    }

    /// <summary>Runs on one token, without failover (the health check).</summary>
    public async ValueTask<TResult> RunOnAsync<TState, TResult>(string name, HsmToken token, TState state, Func<PooledSession, TState, TResult> operation, CancellationToken cancellationToken)
    {
        var outcome = await TryRunOnAsync(name, token, state, operation, cancellationToken).ConfigureAwait(false);
        return outcome.Failure is null ? outcome.Result! : throw outcome.Failure;
    }

    private readonly record struct Outcome<T>(T? Result, XksException? Failure);

    /// <summary>
    /// The result; or a failure that lets the caller try another token (token away or faulted, pool
    /// busy). Errors about the request itself are thrown.
    /// </summary>
    private async ValueTask<Outcome<TResult>> TryRunOnAsync<TState, TResult>(string name, HsmToken token, TState state, Func<PooledSession, TState, TResult> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var connection = token.Connection;
            if (connection is null)
            {
                // The reason (token.LastError) is logged by the supervisor; the edge only learns that it is away.
                return new(default, XksException.Internal($"The HSM token '{token.Id}' is unavailable; the broker is reconnecting."));
            }

            PooledSession? session;
            var waitStarted = Stopwatch.GetTimestamp();
            try
            {
                session = await connection.AcquireAsync(_sessionWait, cancellationToken).ConfigureAwait(false);
            }
            catch (XksException e)
            {
                return new(default, e);
            }

            var started = Stopwatch.GetTimestamp();
            _metrics.RecordSessionWait(token.Id, Stopwatch.GetElapsedTime(waitStarted, started).TotalSeconds);

            if (session is null)
            {
                if (attempt < 2)
                {
                    continue; // retired while waiting: a new connection may already be there
                }

                return new(default, XksException.Internal($"The HSM token '{token.Id}' is reconnecting."));
            }

            try
            {
                return new(operation(session, state), null);
            }
            catch (Pkcs11Exception e)
            {
                var mapping = CkrMapper.Map(e.RV, session.LastCall);
                switch (mapping.Fault)
                {
                    case HsmFault.StaleHandle when attempt == 0:
                        try
                        {
                            connection.RefreshCatalog();
                        }
                        catch (Pkcs11Exception refresh) when (CkrMapper.Map(refresh.RV, HsmCall.Other).Fault is HsmFault.Token or HsmFault.Module)
                        {
                            token.ReportFault(connection, refresh.RV, "key catalog refresh");
                            return new(default, new XksException(XksErrorName.InternalException, $"The HSM failed ({refresh.RV}); the broker is reconnecting."));
                        }

                        continue;
                    case HsmFault.Token:
                    case HsmFault.Module:
                        _metrics.RecordFault(token.Id, e.RV.ToString());
                        token.ReportFault(connection, e.RV, session.LastCall.ToString());
                        if (mapping.Fault == HsmFault.Module)
                        {
                            // Every token of the module is gone with it.
                            foreach (var other in _tokens)
                            {
                                if (other.Connection is { } c && ReferenceEquals(c.Library, connection.Library))
                                {
                                    other.ReportFault(c, e.RV, session.LastCall.ToString());
                                }
                            }
                        }

                        return new(default, new XksException(mapping.Error, mapping.Message));
                    default:
                        throw new XksException(mapping.Error, mapping.Message);
                }
            }
            finally
            {
                _metrics.RecordOperation(token.Id, name, Stopwatch.GetElapsedTime(started).TotalSeconds);
                connection.Release(session);
            }
        }
    }

    /// <summary>Re-reads every connected token's key catalog now (after admin changes).</summary>
    public void RefreshKeys()
    {
        foreach (var token in _tokens)
        {
            token.Connection?.RefreshCatalog();
        }
    }

    public void Dispose()
    {
        foreach (var token in _tokens)
        {
            token.Disconnect();
        }

        Module.Dispose();
    }
}
