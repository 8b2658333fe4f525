using System.Diagnostics;
using System.Diagnostics.Metrics;
using XksGrpc.Broker.Health;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Telemetry;

/// <summary>
/// The broker's instruments on the meter "XksGrpc.Broker" (issue 6; exported in Prometheus format on
/// the management listener, README "Metrics"): calls by API and outcome, their latency, the session
/// pool of each token and each token's health. Tags are bounded (API, errorName, configured token id)
/// and never carry data, key material or the PIN.
/// </summary>
internal sealed class BrokerMetrics
{
    public const string MeterName = "XksGrpc.Broker";

    /// <summary>The outcome of a call that succeeded (the edge uses the same word).</summary>
    public const string Success = "Success";

    private static readonly (EkmHealth Health, string Name)[] HealthStates =
        [(EkmHealth.Active, "ACTIVE"), (EkmHealth.Degraded, "DEGRADED"), (EkmHealth.Unavailable, "UNAVAILABLE")];

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;

    public BrokerMetrics(IMeterFactory meterFactory, Hsm hsm, HealthMonitor health)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("xksgrpc.broker.requests", "{request}",
            "Broker calls answered, by API and outcome (Success or the errorName).");
        _duration = meter.CreateHistogram<double>("xksgrpc.broker.request.duration", "s",
            "Time the broker took to answer a call, by API and outcome.");
        meter.CreateObservableGauge("xksgrpc.broker.hsm.sessions.in_use", () => Sessions(hsm, inUse: true), "{session}",
            "PKCS#11 sessions of a token lent to an operation now.");
        meter.CreateObservableGauge("xksgrpc.broker.hsm.sessions.idle", () => Sessions(hsm, inUse: false), "{session}",
            "PKCS#11 sessions of a token free in the pool now (0 while the token is disconnected).");
        meter.CreateObservableGauge("xksgrpc.broker.hsm.health", () => Health(health), "1",
            "Result of the last deep health check per token: 1 for the token's state (ACTIVE, DEGRADED or UNAVAILABLE), 0 for the others.");
    }

    public void RecordRequest(string api, string outcome, double seconds)
    {
        var tags = new TagList
        {
            { "xks.api", api },
            { "xks.outcome", outcome },
        };
        _requests.Add(1, tags);
        _duration.Record(seconds, tags);
    }

    private static IEnumerable<Measurement<int>> Sessions(Hsm hsm, bool inUse)
    {
        foreach (var token in hsm.Tokens)
        {
            var c = token.Connection;
            var value = c is null || c.IsRetired ? 0 : inUse ? c.InUse : c.PoolSize - c.InUse;
            yield return new Measurement<int>(value, new KeyValuePair<string, object?>("hsm.token", token.Id));
        }
    }

    private static IEnumerable<Measurement<int>> Health(HealthMonitor health)
    {
        foreach (var token in health.Current.Tokens)
        {
            foreach (var (state, name) in HealthStates)
            {
                yield return new Measurement<int>(token.Health == state ? 1 : 0,
                    new KeyValuePair<string, object?>("hsm.token", token.Id), new KeyValuePair<string, object?>("hsm.health", name));
            }
        }
    }
}
