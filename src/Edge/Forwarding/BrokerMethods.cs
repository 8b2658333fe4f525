using System.Collections.Concurrent;
using XksGrpc.Edge.Routing;

namespace XksGrpc.Edge.Forwarding;

/// <summary>The gRPC method path of each XKS API on the broker, and the per-destination URIs (cached).</summary>
internal sealed class BrokerMethods
{
    private readonly ConcurrentDictionary<string, Uri[]> _uris = new(StringComparer.Ordinal);

    public static string Path(XksApi api) => api switch
    {
        XksApi.GetKeyMetadata => "/xksgrpc.broker.v1.XksBroker/GetKeyMetadata",
        XksApi.Encrypt => "/xksgrpc.broker.v1.XksBroker/Encrypt",
        XksApi.Decrypt => "/xksgrpc.broker.v1.XksBroker/Decrypt",
        XksApi.GetHealthStatus => "/xksgrpc.broker.v1.XksBroker/GetHealthStatus",
        _ => throw new ArgumentOutOfRangeException(nameof(api)),
    };

    public Uri Uri(string destinationPrefix, XksApi api)
    {
        var uris = _uris.GetOrAdd(destinationPrefix, static prefix =>
        {
            var trimmed = prefix.TrimEnd('/');
            return
            [
                new Uri(trimmed + Path(XksApi.GetKeyMetadata)),
                new Uri(trimmed + Path(XksApi.Encrypt)),
                new Uri(trimmed + Path(XksApi.Decrypt)),
                new Uri(trimmed + Path(XksApi.GetHealthStatus)),
            ];
        });
        return uris[(int)api];
    }
}
