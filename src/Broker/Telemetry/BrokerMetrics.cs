using System.Diagnostics.Metrics;
using XksGrpc.Broker.Health;
using XksGrpc.Broker.Pkcs11;

namespace XksGrpc.Broker.Telemetry;

/// <summary>
/// The broker's instruments on the meter "XksGrpc.Broker" (exporters are issue 6): requests by
/// operation and outcome, their latency, sessions in use per token, and token health.
/// </summary>
internal sealed class BrokerMetrics
{
    public const string MeterName = "XksGrpc.Broker";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _latency;

    public BrokerMetrics(IMeterFactory meterFactory, Hsm hsm, HealthMonitor health)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("xksgrpc.broker.requests", description: "Broker calls by operation and outcome");
        _latency = meter.CreateHistogram<double>("xksgrpc.broker.request.duration", unit: "ms", description: "Broker call latency");
        meter.CreateObservableGauge("xksgrpc.broker.sessions.in_use", () => Sessions(hsm, inUse: true), description: "HSM sessions lent to requests");
        meter.CreateObservableGauge("xksgrpc.broker.sessions.size", () => Sessions(hsm, inUse: false), description: "HSM session pool size");
        meter.CreateObservableGauge("xksgrpc.broker.token.health", () => Health(health),
            description: "Last deep check per token: 1 ACTIVE, 2 DEGRADED, 3 UNAVAILABLE");
    }

    public void RecordRequest(string operation, string outcome, double milliseconds)
    {
        var op = new KeyValuePair<string, object?>("operation", operation);
        var result = new KeyValuePair<string, object?>("outcome", outcome);
        _requests.Add(1, op, result);
        _latency.Record(milliseconds, op, result);
    }

    private static IEnumerable<Measurement<int>> Sessions(Hsm hsm, bool inUse)
    {
        foreach (var token in hsm.Tokens)
        {
            var c = token.Connection;
            yield return new Measurement<int>(c is null ? 0 : inUse ? c.InUse : c.PoolSize, new KeyValuePair<string, object?>("token", token.Id));
        }
    }

    private static IEnumerable<Measurement<int>> Health(HealthMonitor health)
    {
        foreach (var token in health.Current.Tokens)
        {
            yield return new Measurement<int>((int)token.Health, new KeyValuePair<string, object?>("token", token.Id));
        }
    }
}
