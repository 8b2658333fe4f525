using System.Collections.Frozen;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using XksGrpc.Edge.Configuration;

namespace XksGrpc.Edge.Pipeline;

/// <summary>
/// Per-keystore request quotas (spec: "MAY implement independent request quotas on each path
/// prefix and respond with a ThrottlingException"): one token bucket per keystore whose
/// RateLimit.PermitsPerSecond is above zero.
/// </summary>
internal sealed class KeystoreRateLimiters : IDisposable
{
    private readonly FrozenDictionary<string, RateLimiter> _limiters;

    public KeystoreRateLimiters(IOptions<EdgeOptions> options)
    {
        var limiters = new Dictionary<string, RateLimiter>(StringComparer.Ordinal);
        foreach (var keystore in options.Value.Keystores)
        {
            var rate = keystore.RateLimit;
            if (rate.PermitsPerSecond <= 0)
            {
                continue;
            }

            // Refilled ten times a second so that a quota is smooth rather than per-second lumps.
            var perTick = Math.Max(1, rate.PermitsPerSecond / 10);
            limiters[keystore.Name] = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = rate.Burst > 0 ? rate.Burst : rate.PermitsPerSecond,
                TokensPerPeriod = perTick,
                ReplenishmentPeriod = TimeSpan.FromSeconds((double)perTick / rate.PermitsPerSecond),
                QueueLimit = 0,
                AutoReplenishment = true,
            });
        }

        _limiters = limiters.ToFrozenDictionary(StringComparer.Ordinal);
    }

    /// <summary>True when the keystore may take one more request now.</summary>
    public bool TryAcquire(string keystore)
    {
        if (!_limiters.TryGetValue(keystore, out var limiter))
        {
            return true;
        }

        using var lease = limiter.AttemptAcquire();
        return lease.IsAcquired;
    }

    public void Dispose()
    {
        foreach (var limiter in _limiters.Values)
        {
            limiter.Dispose();
        }
    }
}
