using System.Buffers.Binary;
using System.Globalization;
using System.Net.Sockets;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Microsoft.Extensions.Logging;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Logging;

namespace XksGrpc.Broker.Transport;

/// <summary>The peer of a Unix socket connection, as the kernel reports it (SO_PEERCRED).</summary>
internal readonly record struct PeerCredentials(int Pid, uint Uid, uint Gid)
{
    private const int SolSocket = 1;   // SOL_SOCKET on Linux
    private const int SoPeerCred = 17; // SO_PEERCRED on Linux

    /// <summary>getsockopt(SOL_SOCKET, SO_PEERCRED) → struct ucred { pid_t pid; uid_t uid; gid_t gid; }.</summary>
    public static PeerCredentials? Read(Socket socket)
    {
        Span<byte> ucred = stackalloc byte[12];
        try
        {
            var length = socket.GetRawSocketOption(SolSocket, SoPeerCred, ucred);
            if (length < 12)
            {
                return null;
            }
        }
        catch (SocketException)
        {
            return null;
        }

        return new PeerCredentials(
            BinaryPrimitives.ReadInt32LittleEndian(ucred),
            BinaryPrimitives.ReadUInt32LittleEndian(ucred[4..]),
            BinaryPrimitives.ReadUInt32LittleEndian(ucred[8..]));
    }
}

/// <summary>
/// Kestrel connection middleware for the Unix socket: admits a peer whose uid is the broker's own,
/// root, or in AllowedPeerUids, or whose primary or supplementary group is in AllowedPeerGids; any
/// other connection is closed before a byte of HTTP/2 is read, and logged.
/// </summary>
internal sealed class PeerCredentialsFilter(BrokerListenOptions options, ILogger logger)
{
    private readonly HashSet<uint> _uids = [.. options.AllowedPeerUids, 0u, OwnUid()];
    private readonly HashSet<uint> _gids = [.. options.AllowedPeerGids];

    public ConnectionDelegate Wrap(ConnectionDelegate next) => async connection =>
    {
        var socket = connection.Features.Get<IConnectionSocketFeature>()?.Socket;
        var peer = socket is null ? null : PeerCredentials.Read(socket);
        if (peer is null)
        {
            BrokerLog.PeerCredentialsUnavailable(logger);
            connection.Abort(new ConnectionAbortedException("Peer credentials unavailable."));
            return;
        }

        if (!IsAllowed(peer.Value))
        {
            BrokerLog.PeerRejected(logger, peer.Value.Pid, peer.Value.Uid, peer.Value.Gid);
            connection.Abort(new ConnectionAbortedException("Peer not allowed."));
            return;
        }

        await next(connection).ConfigureAwait(false);
    };

    public bool IsAllowed(PeerCredentials peer)
    {
        if (_uids.Contains(peer.Uid) || _gids.Contains(peer.Gid))
        {
            return true;
        }

        if (_gids.Count > 0)
        {
            foreach (var gid in SupplementaryGroups(peer.Pid))
            {
                if (_gids.Contains(gid))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>The effective uid of this process (from /proc, no P/Invoke needed).</summary>
    internal static uint OwnUid() => ReadStatusIds("Uid:").ElementAtOrDefault(1);

    /// <summary>The peer's supplementary groups from /proc/&lt;pid&gt;/status (best effort).</summary>
    private static IEnumerable<uint> SupplementaryGroups(int pid) => ReadStatusIds("Groups:", pid);

    private static List<uint> ReadStatusIds(string field, int? pid = null)
    {
        var ids = new List<uint>();
        try
        {
            var path = pid is null ? "/proc/self/status" : $"/proc/{pid.Value.ToString(CultureInfo.InvariantCulture)}/status";
            foreach (var line in File.ReadLines(path))
            {
                if (!line.StartsWith(field, StringComparison.Ordinal))
                {
                    continue;
                }

                foreach (var part in line[field.Length..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries))
                {
                    if (uint.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
                    {
                        ids.Add(id);
                    }
                }

                break;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return ids;
    }
}
