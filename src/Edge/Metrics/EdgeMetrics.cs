using System.Diagnostics;
using System.Diagnostics.Metrics;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Metrics;

/// <summary>
/// The edge's instruments on the meter "XksGrpc.Edge" (issue 6; exported in Prometheus format on the
/// management listener, README "Metrics"). Tags are few and bounded (API, configured keystore,
/// errorName, a fixed reason, access key id) and never carry secrets, plaintext, AAD or key material.
/// Recording takes no allocation: tags go in a <see cref="TagList"/> on the stack.
/// </summary>
internal sealed class EdgeMetrics : IDisposable
{
    public const string MeterName = "XksGrpc.Edge";

    /// <summary>Reasons of <c>xksgrpc.edge.throttled</c>.</summary>
    public const string KeystoreQuota = "keystore_quota", BrokerConcurrency = "broker_concurrency";

    /// <summary>Reasons of <c>xksgrpc.edge.rejected</c>.</summary>
    public const string Authentication = "authentication", Authorization = "authorization", Oversized = "oversized";

    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Histogram<double> _brokerDuration;
    private readonly Counter<long> _throttled;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _failovers;

    public EdgeMetrics(IMeterFactory meterFactory, CredentialStore credentials)
    {
        _meter = meterFactory.Create(MeterName);
        _requests = _meter.CreateCounter<long>("xksgrpc.edge.requests", "{request}",
            "XKS requests answered, by API, keystore and outcome (Success or the errorName).");
        _duration = _meter.CreateHistogram<double>("xksgrpc.edge.request.duration", "s",
            "Time from the request's arrival to its answer at the edge, by API, keystore and outcome.");
        _brokerDuration = _meter.CreateHistogram<double>("xksgrpc.edge.broker.duration", "s",
            "Duration of the broker hop (gRPC call until the reply is read), by API.");
        _throttled = _meter.CreateCounter<long>("xksgrpc.edge.throttled", "{request}",
            "Requests answered 429 ThrottlingException by the edge, by keystore and reason.");
        _rejected = _meter.CreateCounter<long>("xksgrpc.edge.rejected", "{request}",
            "Requests refused before the broker: SigV4 failures, policy denials and oversized bodies, by keystore and reason.");
        _meter.CreateObservableGauge("xksgrpc.edge.credential.age", () => CredentialAges(credentials), "s",
            "Age of each SigV4 credential (since its secret file was written, or since the edge first loaded it), like KMS's XksProxyCredentialAge.");
        _failovers = _meter.CreateCounter<long>("xksgrpc.edge.broker.failovers", "{request}",
            "Requests retried once on another broker after a connection-level failure, by the broker that failed.");
    }

    /// <summary>Publishes the server certificate's days to expiry (like KMS's XksProxyCertificateDaysToExpire).</summary>
    public void ObserveCertificateDaysToExpiry(Func<double> daysToExpiry)
        => _meter.CreateObservableGauge("xksgrpc.edge.tls.certificate.time_to_expiry", daysToExpiry, "d",
            "Days until the server certificate in use expires (negative once expired).");

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

    /// <summary>A 429 from the edge itself; <paramref name="reason"/> is <see cref="KeystoreQuota"/> or <see cref="BrokerConcurrency"/>.</summary>
    public void Throttled(string keystore, string reason)
        => _throttled.Add(1, new KeyValuePair<string, object?>("xks.keystore", keystore), new KeyValuePair<string, object?>("xks.reason", reason));

    /// <summary>A refusal before the broker; <paramref name="reason"/> is <see cref="Authentication"/>, <see cref="Authorization"/> or <see cref="Oversized"/>.</summary>
    public void Rejected(string keystore, string reason)
        => _rejected.Add(1, new KeyValuePair<string, object?>("xks.keystore", keystore), new KeyValuePair<string, object?>("xks.reason", reason));

    private static IEnumerable<Measurement<double>> CredentialAges(CredentialStore credentials)
    {
        foreach (var (keystore, accessKeyId, age) in credentials.Ages())
        {
            // The access key id identifies a credential and is not secret (KMS shows it in its console); the secret never leaves the store.
            yield return new Measurement<double>(age.TotalSeconds,
                new KeyValuePair<string, object?>("xks.keystore", keystore), new KeyValuePair<string, object?>("xks.access_key_id", accessKeyId));
        }
    }

    /// <summary>A request retried on another broker because <paramref name="destination"/> failed before answering.</summary>
    public void BrokerFailover(string destination)
        => _failovers.Add(1, new KeyValuePair<string, object?>("xks.broker", destination));

    public void Dispose() => _meter.Dispose();
}
