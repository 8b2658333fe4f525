using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace XksGrpc.Edge.Metrics;

/// <summary>
/// The edge's OpenTelemetry-ready instruments (meter "XksGrpc.Edge"); exporters are added by
/// issue 6. Tags are low-cardinality and never carry secrets or key material.
/// </summary>
internal sealed class EdgeMetrics : IDisposable
{
    public const string MeterName = "XksGrpc.Edge";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _brokerDuration;
    private readonly Counter<long> _throttled;
    private readonly Counter<long> _failovers;

    public EdgeMetrics(IMeterFactory meterFactory)
    {
        _meter = meterFactory.Create(MeterName);
        _requests = _meter.CreateCounter<long>("xks.edge.requests", "{request}", "XKS requests by API, keystore and outcome.");
        _duration = _meter.CreateHistogram<double>("xks.edge.request.duration", "s", "End-to-end duration of XKS requests at the edge.");
        _brokerDuration = _meter.CreateHistogram<double>("xks.edge.broker.duration", "s", "Duration of the broker hop (gRPC call).");
        _throttled = _meter.CreateCounter<long>("xks.edge.throttled", "{request}", "Requests shed with ThrottlingException, by reason.");
        _failovers = _meter.CreateCounter<long>("xks.edge.broker.failovers", "{request}", "Requests retried on another broker after a connection-level failure.");
    }

    /// <summary>Publishes the server certificate's days to expiry (like KMS's XksProxyCertificateDaysToExpire).</summary>
    public void ObserveCertificateDaysToExpiry(Func<int> daysToExpiry)
        => _meter.CreateObservableGauge("xks.edge.tls.certificate.days_to_expiry", daysToExpiry, "d", "Days until the server certificate expires.");

    public void RequestCompleted(string api, string keystore, string outcome, double seconds)
    {
        var tags = new TagList
        {
            { "xks.api", api },
            { "xks.keystore", keystore },
            { "xks.outcome", outcome },
        };
        _requests.Add(1, tags);
        _duration.Record(seconds, tags);
    }

    public void BrokerCallCompleted(string api, double seconds)
        => _brokerDuration.Record(seconds, new KeyValuePair<string, object?>("xks.api", api));

    public void Throttled(string keystore, string reason)
        => _throttled.Add(1, new KeyValuePair<string, object?>("xks.keystore", keystore), new KeyValuePair<string, object?>("xks.reason", reason));

    public void BrokerFailover(string destination)
        => _failovers.Add(1, new KeyValuePair<string, object?>("xks.broker", destination));

    public void Dispose() => _meter.Dispose();
}
