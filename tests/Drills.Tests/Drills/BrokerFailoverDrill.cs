using XksGrpc.Drills.Tests.Infrastructure;

namespace XksGrpc.Drills.Tests.Drills;

/// <summary>Drill b: two brokers (two YARP destinations) over one token; one is SIGKILLed under load.</summary>
[Collection(DrillCollection.Name)]
public sealed class BrokerFailoverDrill
{
    private const int Workers = 4;

    [Fact]
    public async Task OneOfTwoBrokersKilledUnderLoad_ClientsSeeNoErrorBeyondTheRequestsInFlight_TheEdgeFailsOverAndHealthChecksTakeTheBrokerOut()
    {
        await using var lab = await DrillLab.StartAsync("failover", brokers: 2,
            editEdge: edge =>
            {
                edge["Edge"]!["Brokers"]!["HealthCheckInterval"] = "00:00:00.500";
                edge["Edge"]!["Brokers"]!["HealthCheckTimeout"] = "00:00:00.250";
            });
        await using var load = SignedLoad.Start(lab, Workers);
        Assert.NotNull(await load.WaitForSuccessesAsync(TimeSpan.Zero, 200, TimeSpan.FromSeconds(30)));

        var killedAt = load.Now;
        await lab.Broker(0).KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(4));
        var answers = await load.StopAsync();
        var summary = Answers.Summary(answers);

        // Only a request already in flight on the killed broker may fail, and then only when its
        // deadline was spent before the kill (the failover runs inside the deadline): at most one per
        // worker, each the spec's 503. Everything sent a second after the kill succeeds.
        var failed = answers.Where(a => a.Kind != AnswerKind.Success).ToList();
        var context = $"{summary}; killed at {killedAt.TotalMilliseconds:F0} ms\n{Answers.First(failed)}\n{lab.Logs()}";
        Assert.True(failed.Count <= Workers, context);
        Assert.All(failed, a => Assert.True(a.Kind == AnswerKind.DependencyError && a.SentAt < killedAt + TimeSpan.FromSeconds(1), context));
        Assert.True(answers.Count(a => a.SentAt > killedAt) > 200, summary);
        var edgeLog = lab.Edge!.ReadLog();
        var failovers = edgeLog.Split('\n').Count(l => l.Contains("retrying once on", StringComparison.Ordinal));
        Assert.True(failovers > 0, "no request failed over: the kill went unnoticed\n" + lab.Edge.Tail());
        Assert.DoesNotContain("ForwardingFailed", edgeLog, StringComparison.Ordinal);
        Console.WriteLine($"drill b (one of two brokers SIGKILLed): {summary}; {failovers} requests failed over, {failed.Count} failed");
    }
}
