using System.Diagnostics.Metrics;

namespace XksGrpc.Broker.Telemetry;

/// <summary>
/// HSM-side instruments on the meter "XksGrpc.Broker": how long each operation holds a session (the
/// HSM's latency as the broker sees it), how long requests wait for a free session, and token faults.
/// </summary>
internal sealed class HsmMetrics
{
    private readonly Histogram<double> _operation;
    private readonly Histogram<double> _sessionWait;
    private readonly Counter<long> _faults;

    public HsmMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(BrokerMetrics.MeterName);
        _operation = meter.CreateHistogram<double>("xksgrpc.broker.hsm.operation.duration", "s",
            "Time an operation held an HSM session (all its PKCS#11 calls), by token and operation.");
        _sessionWait = meter.CreateHistogram<double>("xksgrpc.broker.hsm.session_wait.duration", "s",
            "Time a request waited for a free HSM session, by token.");
        _faults = meter.CreateCounter<long>("xksgrpc.broker.hsm.faults", "{fault}",
            "Token or module faults that dropped a token's sessions, by token and CKR_ code.");
    }

    /// <summary><paramref name="operation"/> is one of the fixed <see cref="Pkcs11.HsmOperation"/> names.</summary>
    public void RecordOperation(string token, string operation, double seconds) =>
        _operation.Record(seconds, new KeyValuePair<string, object?>("hsm.token", token), new KeyValuePair<string, object?>("hsm.operation", operation));

    public void RecordSessionWait(string token, double seconds) =>
        _sessionWait.Record(seconds, new KeyValuePair<string, object?>("hsm.token", token));

    public void RecordFault(string token, string ckr) =>
        _faults.Add(1, new KeyValuePair<string, object?>("hsm.token", token), new KeyValuePair<string, object?>("hsm.ckr", ckr));
}
