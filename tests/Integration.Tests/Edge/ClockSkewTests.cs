using System.Net;
using Microsoft.Extensions.DependencyInjection;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>
/// x-amz-date must be within 5 minutes of the edge's clock either way (spec Appendix A, Task 4):
/// the edge's clock is moved, the request is signed at the real time by AWSSDK.Core.
/// </summary>
public sealed class ClockSkewTests() : FakeBrokerTest("xksgrpc-skew-")
{
    [Theory]
    [InlineData(-4, HttpStatusCode.OK)]
    [InlineData(4, HttpStatusCode.OK)]
    [InlineData(-6, HttpStatusCode.Unauthorized)]
    [InlineData(6, HttpStatusCode.Unauthorized)]
    public async Task RequestSignedWithSkew_IsAcceptedWithinFiveMinutesOnly(int edgeClockOffsetMinutes, HttpStatusCode expected)
    {
        var clock = new ShiftedTimeProvider(TimeSpan.FromMinutes(edgeClockOffsetMinutes));
        var config = EdgeHost.WriteConfig(TestDirectory, Broker.SocketPath, EdgeHost.DefaultCredentials);
        await using var edge = await EdgeHost.StartAsync(config, EdgeHost.DefaultCredentials,
            builder => builder.Services.AddSingleton<TimeProvider>(clock));
        using var client = new XksClient(edge.BaseAddress, Pki.Ca);
        await client.WaitUntilReadyAsync();

        var reply = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), EdgeHost.DefaultCredentials[0]);
        if (reply.Status == HttpStatusCode.ServiceUnavailable)
        {
            // First call on a loaded machine may exceed the broker deadline; the clock is what is under test.
            reply = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(), EdgeHost.DefaultCredentials[0]);
        }

        Assert.Equal(expected, reply.Status);
        if (expected == HttpStatusCode.Unauthorized)
        {
            Assert.Equal("AuthenticationFailedException", reply.ErrorName);
        }
    }

    private sealed class ShiftedTimeProvider(TimeSpan offset) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => base.GetUtcNow() + offset;
    }
}
