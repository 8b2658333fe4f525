using XksGrpc.Drills.Tests.Infrastructure;

namespace XksGrpc.Drills.Tests.Drills;

/// <summary>Drill a: the only broker is SIGKILLed under signed load, then started again.</summary>
[Collection(DrillCollection.Name)]
public sealed class BrokerKilledDrill
{
    [Fact]
    public async Task BrokerKilledUnderLoad_EveryAnswerIsRightOrTheSpecsErrorWithinTheDeadline_AndTrafficRecoversWithoutRestartingTheEdge()
    {
        await using var lab = await DrillLab.StartAsync("kill");
        var edgePid = lab.Edge!.Pid;
        await using var load = SignedLoad.Start(lab, workers: 4);
        Assert.NotNull(await load.WaitForSuccessesAsync(TimeSpan.Zero, 200, TimeSpan.FromSeconds(30)));

        var killedAt = load.Now;
        await lab.Broker(0).KillAsync();
        await Task.Delay(TimeSpan.FromSeconds(2)); // the outage, under load

        await lab.StartBrokerAsync(0);
        var brokerBackAt = load.Now;
        var firstSuccess = await load.WaitForSuccessesAsync(brokerBackAt, 50, TimeSpan.FromSeconds(10));
        await Task.Delay(TimeSpan.FromSeconds(4));
        var answers = await load.StopAsync();
        var summary = Answers.Summary(answers);

        // Every answer is a right success or the spec's JSON error; nothing else, none missing.
        var wrong = answers.Where(a => a.Kind is AnswerKind.Wrong or AnswerKind.NoAnswer).ToList();
        Assert.True(wrong.Count == 0, $"{summary}\n{Answers.First(wrong)}\n{lab.Logs()}");

        // The outage was seen, as the spec's errors, each within the deadline (no hang).
        var outage = answers.Where(a => a.SentAt >= killedAt && a.SentAt < brokerBackAt).ToList();
        Assert.Contains(outage, a => a.Kind == AnswerKind.DependencyError);
        var late = answers.Where(a => a.Elapsed > DrillCollection.Deadline + DrillCollection.Slack).ToList();
        Assert.True(late.Count == 0, $"{summary}\nbroker killed at {killedAt}, back at {brokerBackAt}\nanswers later than the deadline + slack:\n{Answers.First(late)}\n{lab.Logs()}");

        // Recovery within seconds of the broker's return, by the same edge process.
        Assert.True(firstSuccess is not null && firstSuccess.Value - brokerBackAt < TimeSpan.FromSeconds(3),
            $"first success {firstSuccess} after the broker was back at {brokerBackAt}\n{summary}\n{lab.Logs()}");
        // A restarted broker starts cold (JIT, sessions): from 2 s after its return every answer is a success.
        var settled = answers.Where(a => a.SentAt >= brokerBackAt + TimeSpan.FromSeconds(2)).ToList();
        Assert.NotEmpty(settled);
        var unsettled = settled.Where(a => a.Kind != AnswerKind.Success).ToList();
        Assert.True(unsettled.Count == 0, $"{summary}\nnot recovered:\n{Answers.First(unsettled)}");
        Assert.Equal(edgePid, lab.Edge.Pid);
        Assert.False(lab.Edge.HasExited);
        Console.WriteLine($"drill a (broker SIGKILL): {summary}; outage {outage.Count} answers; first success {(firstSuccess!.Value - brokerBackAt).TotalMilliseconds:F0} ms after the broker was back");
    }
}
