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
    public void ABodyCopyCancelledBecauseTheBrokerCannotBeReached_IsRetried()
    {
        // As logged by a CI run while a broker shut down: RequestBodyClient wrapping the failed connect.
        var failure = new AggregateException(
            new TaskCanceledException(),
            new HttpRequestException(HttpRequestError.ConnectionError, "Cannot assign requested address (broker-1.broker.invalid:80)",
                new System.Net.Sockets.SocketException(99)));
        var (context, proxy) = Failed(ForwarderError.RequestBodyClient, failure);

        Assert.True(BrokerFailover.ShouldRetry(context, proxy, out _));
    }

    [Theory]
    [InlineData(ForwarderError.RequestBodyClient)]
    [InlineData(ForwarderError.RequestBodyCanceled)]
    public void ABodyErrorWithoutAConnectionFailure_IsNotRetried(ForwarderError error)
    {
        var (context, proxy) = Failed(error, new AggregateException(new TaskCanceledException(), new IOException("client went away")));

        Assert.False(BrokerFailover.ShouldRetry(context, proxy, out _));
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

    private static (DefaultHttpContext Context, IReverseProxyFeature Proxy) Failed(ForwarderError error, Exception? exception = null)
    {
        var context = new DefaultHttpContext();
        var proxy = new Proxy { ProxiedDestination = new DestinationState("broker-1") };
        context.Features.Set<IReverseProxyFeature>(proxy);
        context.Features.Set<IForwarderErrorFeature>(new ErrorFeature(error, exception));
        return (context, proxy);
    }

    private sealed class ErrorFeature(ForwarderError error, Exception? exception) : IForwarderErrorFeature
    {
        public ForwarderError Error { get; } = error;

        public Exception? Exception { get; } = exception;
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
