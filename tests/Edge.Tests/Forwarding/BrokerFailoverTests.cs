using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Model;
using XksGrpc.Edge.Forwarding;

namespace XksGrpc.Edge.Tests.Forwarding;

/// <summary>Which failures of the chosen broker send the request to another one.</summary>
public sealed class BrokerFailoverTests
{
    [Theory]
    [InlineData(ForwarderError.Request, true)]
    [InlineData(ForwarderError.RequestBodyDestination, true)]
    [InlineData(ForwarderError.RequestTimedOut, false)]
    [InlineData(ForwarderError.RequestCanceled, false)]
    [InlineData(ForwarderError.RequestBodyClient, false)]
    [InlineData(ForwarderError.RequestBodyCanceled, false)]
    [InlineData(ForwarderError.ResponseBodyDestination, false)]
    [InlineData(ForwarderError.NoAvailableDestinations, false)]
    public void OnlyConnectionLevelFailuresBeforeAnyReply_AreRetried(ForwarderError error, bool retried)
    {
        var (context, proxy) = Failed(error);

        Assert.Equal(retried, BrokerFailover.ShouldRetry(context, proxy, out var failed));
        Assert.Equal("broker-1", failed.DestinationId);
    }

    [Fact]
    public void AFailureAfterTheClientWentAway_IsNotRetried()
    {
        var (context, proxy) = Failed(ForwarderError.Request);
        using var aborted = new CancellationTokenSource();
        aborted.Cancel();
        context.RequestAborted = aborted.Token;

        Assert.False(BrokerFailover.ShouldRetry(context, proxy, out _));
    }

    private static (DefaultHttpContext Context, IReverseProxyFeature Proxy) Failed(ForwarderError error)
    {
        var context = new DefaultHttpContext();
        var proxy = new Proxy { ProxiedDestination = new DestinationState("broker-1") };
        context.Features.Set<IReverseProxyFeature>(proxy);
        context.Features.Set<IForwarderErrorFeature>(new ErrorFeature(error));
        return (context, proxy);
    }

    private sealed class ErrorFeature(ForwarderError error) : IForwarderErrorFeature
    {
        public ForwarderError Error { get; } = error;

        public Exception? Exception => null;
    }

    private sealed class Proxy : IReverseProxyFeature
    {
        public RouteModel Route => throw new NotSupportedException();

        public ClusterModel Cluster { get; set; } = null!;

        public IReadOnlyList<DestinationState> AllDestinations { get; set; } = [];

        public IReadOnlyList<DestinationState> AvailableDestinations { get; set; } = [];

        public DestinationState? ProxiedDestination { get; set; }
    }
}
