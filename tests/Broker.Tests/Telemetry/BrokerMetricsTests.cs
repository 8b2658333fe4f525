using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using XksGrpc.Broker.Telemetry;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Telemetry;

[Collection(BrokerCollection.Name)]
public sealed class BrokerMetricsTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task Requests_AreCountedByOperationAndOutcome_AndSessionsAndHealthAreObservable()
    {
        var measurements = new ConcurrentBag<(string Instrument, long Value, string Tags)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == BrokerMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Add((i.Name, v, Tags(tags))));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => measurements.Add((i.Name, v, Tags(tags))));
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) => measurements.Add((i.Name, (long)v, Tags(tags))));
        listener.Start();

        await Client.EncryptAsync(Encrypt("foo", [1]));
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.EncryptAsync(Encrypt("absent_key", [1])));
        listener.RecordObservableInstruments();

        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.requests" && m.Tags.Contains("operation=Encrypt") && m.Tags.Contains("outcome=ok"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.requests" && m.Tags.Contains("outcome=KeyNotFoundException"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.sessions.size" && m.Value == 8 && m.Tags.Contains("token=hsm-1"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.token.health" && m.Tags.Contains("token=hsm-1"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.hsm.operation.duration" && m.Tags.Contains("token=hsm-1"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.hsm.session_wait.duration" && m.Tags.Contains("token=hsm-1"));
    }

    private static string Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var parts = new List<string>();
        foreach (var t in tags)
        {
            parts.Add($"{t.Key}={t.Value}");
        }

        return string.Join(',', parts);
    }
}
