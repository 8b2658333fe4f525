using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using XksGrpc.Drills.Tests.Infrastructure;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Drills.Tests.Drills;

/// <summary>Drill e: SIGTERM to the edge and to a broker while requests are in flight.</summary>
[Collection(DrillCollection.Name)]
public sealed class GracefulShutdownDrill
{
    private const int InFlight = 16;

    [Fact]
    public async Task EdgeSigtermWithRequestsInFlight_EveryOneCompletes_AndTheEdgeExitsZero()
    {
        await using var lab = await DrillLab.StartAsync("sigterm-edge");
        using var client = lab.Client();

        // Requests that are surely in flight: the edge has their headers and half their body.
        var requests = Enumerable.Range(0, InFlight).Select(i => HalfSentRequest.Start(client, lab.Credential, i % 2 == 0 ? HttpVersion.Version11 : HttpVersion.Version20)).ToList();
        await Task.WhenAll(requests.Select(r => r.HalfSent)).WaitAsync(TimeSpan.FromSeconds(20));
        await Task.Delay(200); // the edge reads the first half

        lab.Edge!.Signal(ChildProcess.SigTerm);
        await Task.Delay(TimeSpan.FromMilliseconds(500)); // shutdown is under way: no new connection is accepted
        await AssertRefusedAsync(lab);

        foreach (var request in requests)
        {
            request.SendTheRest();
        }

        var replies = await Task.WhenAll(requests.Select(r => r.Reply)).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.All(replies, r => Assert.True(r.Status == HttpStatusCode.OK && r.Json["ciphertext"] is not null, $"{r.Status} {r.Body}\n{lab.Logs()}"));
        Assert.True(await lab.Edge.WaitForExitAsync(TimeSpan.FromSeconds(30)), "the edge did not exit within its shutdown timeout\n" + lab.Edge.Tail());
        Assert.Equal(0, lab.Edge.ExitCode);
        Console.WriteLine($"drill e (edge SIGTERM): {replies.Length} in-flight requests completed with 200, edge exit 0");
    }

    [Fact]
    public async Task BrokerSigtermUnderLoad_NoRequestIsCut_AndTheBrokerExitsZero()
    {
        await using var lab = await DrillLab.StartAsync("sigterm-broker", brokers: 2);
        await using var load = SignedLoad.Start(lab, workers: 4);
        Assert.NotNull(await load.WaitForSuccessesAsync(TimeSpan.Zero, 200, TimeSpan.FromSeconds(30)));

        var stoppedAt = load.Now;
        lab.Broker(0).Signal(ChildProcess.SigTerm);
        var exited = await lab.Broker(0).WaitForExitAsync(TimeSpan.FromSeconds(30));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var answers = await load.StopAsync();
        var summary = Answers.Summary(answers);

        Assert.True(exited, "the broker did not exit within its shutdown timeout\n" + lab.Broker(0).Tail());
        Assert.Equal(0, lab.Broker(0).ExitCode);
        var failed = answers.Where(a => a.Kind != AnswerKind.Success).ToList();
        Assert.True(failed.Count == 0, $"{summary}\n{Answers.First(failed)}\n{lab.Logs()}");
        Assert.True(answers.Count(a => a.SentAt > stoppedAt) > 100, summary);

        // The broker drained first (ShutdownDrain) and the edge took it out of load balancing at its
        // first marked reply (BrokerPassiveHealth): without that, calls sent while the broker's
        // listener was closing could be left with no time to fail over (seen under CPU contention).
        Assert.Contains("Shutting down: draining for 500 ms", lab.Broker(0).ReadLog());
        Assert.Contains("Broker broker-1 is shutting down", lab.Edge!.ReadLog());
        Console.WriteLine($"drill e (broker SIGTERM under load): {summary}; broker drained and exited 0");
    }

    /// <summary>A new connection to the edge after SIGTERM is refused (its listener is closed).</summary>
    private static async Task AssertRefusedAsync(DrillLab lab)
    {
        using var fresh = lab.Client();
        await Assert.ThrowsAsync<HttpRequestException>(() => fresh.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(lab.BaseAddress, "/ping"))));
    }

    /// <summary>A signed Encrypt whose body is sent in two halves, the second on demand.</summary>
    private sealed class HalfSentRequest
    {
        private readonly TaskCompletionSource _halfSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly TaskCompletionSource _rest = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task HalfSent => _halfSent.Task;

        public Task<XksClient.Reply> Reply { get; private set; } = null!;

        public void SendTheRest() => _rest.TrySetResult();

        public static HalfSentRequest Start(XksClient client, TestCredential credential, Version version)
        {
            var request = new HalfSentRequest();
            var body = Encoding.UTF8.GetBytes(XksBodies.Encrypt(RandomNumberGenerator.GetBytes(64)).ToJsonString());
            const string path = "/ks1/kms/xks/v1/keys/foo/encrypt";
            var headers = SdkSigner.Sign(client.BaseAddress, path, body, credential.AccessKeyId, credential.Secret);
            request.Reply = client.PostSignedAsync(path, body, headers, version, message =>
            {
                message.Content = new GatedContent(body, request._halfSent, request._rest.Task);
                message.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                message.Content.Headers.ContentLength = body.Length;
            });
            return request;
        }
    }

    private sealed class GatedContent(byte[] body, TaskCompletionSource halfSent, Task rest) : HttpContent
    {
        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var half = body.Length / 2;
            await stream.WriteAsync(body.AsMemory(0, half));
            await stream.FlushAsync();
            halfSent.TrySetResult();
            await rest;
            await stream.WriteAsync(body.AsMemory(half));
        }

        protected override bool TryComputeLength(out long length)
        {
            length = body.Length;
            return true;
        }
    }
}
