using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.Logging;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Health;

/// <summary>The health of one token as of its last deep check.</summary>
internal sealed record TokenHealth(string Id, string Model, EkmHealth Health, long CheckedAtMs, string Reason);

/// <summary>The cached result of the last deep check of every token.</summary>
internal sealed record HealthSnapshot(string Vendor, IReadOnlyList<TokenHealth> Tokens);

/// <summary>
/// The deep health check (spec, GetHealthStatus: "SHOULD be deep rather than shallow", "cached result
/// MUST not be older than one minute"): every HealthCheckInterval, an encrypt and a decrypt with the
/// dedicated health key on each token, never a customer key. ACTIVE when clean; DEGRADED when the token
/// answers but the check was slow, busy or lacks its health key; UNAVAILABLE when the token is away.
/// </summary>
internal sealed class HealthMonitor : BackgroundService
{
    /// <summary>The spec's bound on the age of a cached result.</summary>
    public const long MaxAgeMs = 60_000;

    /// <summary>A deep check slower than this is DEGRADED.</summary>
    private static readonly TimeSpan SlowCheck = TimeSpan.FromMilliseconds(250);

    private readonly Hsm _hsm;
    private readonly Pkcs11Options _options;
    private readonly ILogger _logger;
    private volatile HealthSnapshot _current;

    public HealthMonitor(Hsm hsm, IOptions<BrokerOptions> options, ILogger<HealthMonitor> logger)
    {
        _hsm = hsm;
        _options = options.Value.Pkcs11;
        _logger = logger;
        _current = new HealthSnapshot("unknown",
            hsm.Tokens.Select(t => new TokenHealth(t.Id, t.Model, EkmHealth.Unavailable, Environment.TickCount64, "not checked yet")).ToArray());
    }

    public HealthSnapshot Current => _current;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await CheckAllAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.HealthCheckInterval);
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
        {
            await CheckAllAsync(stoppingToken).ConfigureAwait(false);
        }
    }

    /// <summary>Checks every token now and publishes the result.</summary>
    public async Task<HealthSnapshot> CheckAllAsync(CancellationToken cancellationToken)
    {
        var previous = _current;
        var results = new TokenHealth[_hsm.Tokens.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = await CheckAsync(_hsm.Tokens[i], cancellationToken).ConfigureAwait(false);
            var before = i < previous.Tokens.Count ? previous.Tokens[i].Health : EkmHealth.Unspecified;
            if (before != results[i].Health)
            {
                BrokerLog.HealthChanged(_logger, results[i].Id, before.ToString(), results[i].Health.ToString(), results[i].Reason);
            }
        }

        var snapshot = new HealthSnapshot(_hsm.Module.Manufacturer ?? "unknown", results);
        _current = snapshot;
        return snapshot;
    }

    private async Task<TokenHealth> CheckAsync(HsmToken token, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        EkmHealth health;
        string reason;
        try
        {
            // Deep means the token itself: requests run on session copies of the keys, which outlive the
            // token's files; the probe reads the token's objects and retires a token that lost them.
            token.Connection?.Probe();
            await _hsm.RunOnAsync(HsmOperation.HealthCheck, token, _hsm.HealthKeyLabel, static (session, label) =>
            {
                var family = session.FindKey(label);
                var key = family.Current ?? throw XksException.InvalidState($"The health key '{label}' is disabled.");
                var probe = RandomNumberGenerator.GetBytes(32);
                var aad = "xksgrpc-health"u8.ToArray();
                var iv = session.GenerateIv();
                var sealedProbe = session.Encrypt(key, iv, aad, probe);
                var opened = session.TryDecrypt(key, iv, aad, sealedProbe);
                if (opened is null || !CryptographicOperations.FixedTimeEquals(opened, probe))
                {
                    throw XksException.Internal("The health key's round trip did not return the probe.");
                }

                return true;
            }, cancellationToken).ConfigureAwait(false);
            var elapsed = Stopwatch.GetElapsedTime(started);
            (health, reason) = elapsed > SlowCheck
                ? (EkmHealth.Degraded, $"deep check took {elapsed.TotalMilliseconds:F0} ms")
                : (EkmHealth.Active, "deep check passed");
        }
        catch (XksException e) when (e.Name is XksErrorName.KeyNotFoundException or XksErrorName.InvalidStateException
                                          or XksErrorName.InvalidKeyUsageException or XksErrorName.DependencyTimeoutException)
        {
            // The token answers, but the deep check could not run cleanly.
            (health, reason) = (EkmHealth.Degraded, e.SafeMessage);
        }
        catch (XksException e)
        {
            (health, reason) = (EkmHealth.Unavailable, e.SafeMessage);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The health loop must outlive anything the module throws.
            (health, reason) = (EkmHealth.Unavailable, $"deep check failed: {e.GetType().Name}");
        }

        BrokerLog.HealthChecked(_logger, token.Id, health.ToString(), Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        return new TokenHealth(token.Id, token.Model, health, Environment.TickCount64, reason);
    }
}
