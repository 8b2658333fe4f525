using System.Collections.Frozen;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using XksGrpc.Edge.Configuration;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// Maps the YARP destinations to transports. A Unix-socket broker becomes the destination
/// <c>http://&lt;name&gt;.broker.invalid</c> (h2c); the connect callback opens its socket. An https
/// broker keeps its address and is reached over TCP (TLS is then done by the handler).
/// </summary>
internal sealed class BrokerEndpoints
{
    public const string ClusterId = "brokers";
    public const string UnixHostSuffix = ".broker.invalid";

    private readonly FrozenDictionary<string, string> _unixSockets;

    public BrokerEndpoints(IOptions<EdgeOptions> options)
    {
        var sockets = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var destinations = new List<(string Name, string Address)>();
        foreach (var destination in options.Value.Brokers.Destinations)
        {
            if (!BrokerAddress.TryParse(destination.Address, out var address))
            {
                continue;
            }

            if (address.UnixSocketPath is { } path)
            {
                var host = destination.Name.ToLowerInvariant() + UnixHostSuffix;
                sockets[host] = path;
                destinations.Add((destination.Name, "http://" + host));
            }
            else
            {
                destinations.Add((destination.Name, address.HttpsUri!.GetLeftPart(UriPartial.Authority)));
            }
        }

        _unixSockets = sockets.ToFrozenDictionary(StringComparer.OrdinalIgnoreCase);
        Destinations = destinations;
    }

    /// <summary>YARP destination id → destination address.</summary>
    public IReadOnlyList<(string Name, string Address)> Destinations { get; }

    /// <summary>SocketsHttpHandler.ConnectCallback: Unix socket for *.broker.invalid, TCP otherwise.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        Socket socket;
        if (_unixSockets.TryGetValue(context.DnsEndPoint.Host, out var path))
        {
            socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
        else
        {
            socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }

        return new NetworkStream(socket, ownsSocket: true);
    }
}
