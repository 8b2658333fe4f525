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
        var histogramUnits = new ConcurrentBag<string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == BrokerMetrics.MeterName)
            {
                if (instrument is Histogram<double>)
                {
                    histogramUnits.Add(instrument.Unit);
                }

                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((i, v, tags, _) => measurements.Add((i.Name, v, Tags(tags))));
        listener.SetMeasurementEventCallback<int>((i, v, tags, _) => measurements.Add((i.Name, v, Tags(tags))));
        var durations = new ConcurrentBag<double>();
        listener.SetMeasurementEventCallback<double>((i, v, tags, _) =>
        {
            measurements.Add((i.Name, (long)v, Tags(tags)));
            if (i.Unit == "s")
            {
                durations.Add(v);
            }
        });
        listener.Start();

        await Client.EncryptAsync(Encrypt("foo", [1]));
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.EncryptAsync(Encrypt("absent_key", [1])));
        listener.RecordObservableInstruments();

        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.requests" && m.Tags.Contains("xks.api=Encrypt") && m.Tags.Contains("xks.outcome=Success"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.requests" && m.Tags.Contains("xks.outcome=KeyNotFoundException"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.hsm.sessions.idle" && m.Value == 8 && m.Tags.Contains("hsm.token=hsm-1"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.hsm.sessions.in_use" && m.Value == 0 && m.Tags.Contains("hsm.token=hsm-1"));
        // One state per token is 1 (ACTIVE, DEGRADED or UNAVAILABLE), the other two are 0.
        var health = measurements.Where(m => m.Instrument == "xksgrpc.broker.hsm.health" && m.Tags.Contains("hsm.token=hsm-1")).ToList();
        Assert.Equal(3, health.Count);
        Assert.Equal(1, health.Sum(m => m.Value));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.hsm.operation.duration" && m.Tags.Contains("hsm.token=hsm-1") && m.Tags.Contains("hsm.operation=encrypt"));
        Assert.Contains(measurements, m => m.Instrument == "xksgrpc.broker.hsm.session_wait.duration" && m.Tags.Contains("hsm.token=hsm-1"));

        // Durations are histograms in seconds (OpenTelemetry's unit "s"), never milliseconds.
        Assert.NotEmpty(durations);
        Assert.All(histogramUnits, unit => Assert.Equal("s", unit));
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
