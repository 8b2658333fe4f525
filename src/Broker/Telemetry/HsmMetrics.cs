using System.Diagnostics.Metrics;

namespace XksGrpc.Broker.Telemetry;

/// <summary>
/// HSM-side instruments on the meter "XksGrpc.Broker": how long each operation holds a session
/// (the HSM's latency as the broker sees it), and how long requests wait for a free session.
/// </summary>
internal sealed class HsmMetrics
{
    private readonly Histogram<double> _operation;
    private readonly Histogram<double> _sessionWait;
    private readonly Counter<long> _faults;

    public HsmMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(BrokerMetrics.MeterName);
        _operation = meter.CreateHistogram<double>("xksgrpc.broker.hsm.operation.duration", unit: "ms",
            description: "Time an operation held an HSM session (all its PKCS#11 calls)");
        _sessionWait = meter.CreateHistogram<double>("xksgrpc.broker.hsm.session_wait.duration", unit: "ms",
            description: "Time a request waited for a free HSM session");
        _faults = meter.CreateCounter<long>("xksgrpc.broker.hsm.faults", description: "Token faults that dropped a token's sessions");
    }

    public void RecordOperation(string token, double milliseconds) =>
        _operation.Record(milliseconds, new KeyValuePair<string, object?>("token", token));

    public void RecordSessionWait(string token, double milliseconds) =>
        _sessionWait.Record(milliseconds, new KeyValuePair<string, object?>("token", token));

    public void RecordFault(string token, string ckr) =>
        _faults.Add(1, new KeyValuePair<string, object?>("token", token), new KeyValuePair<string, object?>("ckr", ckr));
}
