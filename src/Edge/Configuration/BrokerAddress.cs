using System.Diagnostics.CodeAnalysis;

namespace XksGrpc.Edge.Configuration;

/// <summary>A parsed <c>Edge:Brokers:Destinations[].Address</c>.</summary>
internal sealed record BrokerAddress(string? UnixSocketPath, Uri? HttpsUri)
{
    public const string UnixScheme = "unix:";

    public static bool TryParse(string address, [NotNullWhen(true)] out BrokerAddress? parsed)
    {
        parsed = null;
        if (address.StartsWith(UnixScheme, StringComparison.Ordinal))
        {
            var path = address[UnixScheme.Length..];
            if (path.Length == 0 || !Path.IsPathRooted(path))
            {
                return false;
            }

            parsed = new BrokerAddress(path, null);
            return true;
        }

        if (Uri.TryCreate(address, UriKind.Absolute, out var uri)
            && uri.Scheme == Uri.UriSchemeHttps
            && (uri.AbsolutePath is "/" or "")
            && string.IsNullOrEmpty(uri.Query))
        {
            parsed = new BrokerAddress(null, uri);
            return true;
        }

        return false;
    }
}
