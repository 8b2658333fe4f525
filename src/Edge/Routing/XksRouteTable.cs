using XksGrpc.Broker.V1;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Errors;

namespace XksGrpc.Edge.Routing;

/// <summary>A configured keystore as the request path sees it.</summary>
internal sealed class KeystoreRoute(string name, string pathPrefix)
{
    public string Name { get; } = name;

    public string PathPrefix { get; } = pathPrefix;
}

/// <summary>What a request path designates: the keystore, the API, and the key id (empty for health).</summary>
internal readonly record struct XksRoute(KeystoreRoute Keystore, XksApi Api, string KeyId, bool KeyIdValid);

/// <summary>
/// Maps a request path to a keystore and XKS API (spec, "API operations": URIs
/// <c>[/prefix]/kms/xks/v1/keys/{externalKeyId}/{metadata|encrypt|decrypt}</c> and
/// <c>[/prefix]/kms/xks/v1/health</c>). The longest configured prefix wins. An empty prefix
/// also accepts the double slash that a client joining "" and "/kms/xks/v1" may send.
/// </summary>
internal sealed class XksRouteTable
{
    /// <summary>Spec: an externalKeyId is at most 128 characters.</summary>
    public const int MaxKeyIdLength = 128;

    private const string Base = "/kms/xks/v1/";
    private readonly (string Start, KeystoreRoute Keystore)[] _entries;

    public XksRouteTable(IEnumerable<KeystoreOptions> keystores)
    {
        var entries = new List<(string, KeystoreRoute)>();
        foreach (var keystore in keystores)
        {
            var route = new KeystoreRoute(keystore.Name, keystore.PathPrefix ?? "");
            entries.Add((route.PathPrefix + Base, route));
            if (route.PathPrefix.Length == 0)
            {
                entries.Add(("/" + Base, route));
            }
        }

        // Longest first, so that "/a/b" wins over "/a" when both could match.
        entries.Sort(static (x, y) => y.Item1.Length.CompareTo(x.Item1.Length));
        _entries = [.. entries];
        Keystores = [.. keystores.Select(k => k.Name)];
    }

    public IReadOnlyList<string> Keystores { get; }

    /// <summary>
    /// Classifies a path. Returns null when the path is an XKS URI (then <paramref name="route"/> is set),
    /// else the InvalidUriPathException failure.
    /// </summary>
    public XksFailure? TryClassify(string path, out XksRoute route)
    {
        route = default;
        foreach (var (start, keystore) in _entries)
        {
            if (!path.StartsWith(start, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = path.AsSpan(start.Length);
            if (rest.SequenceEqual("health"))
            {
                route = new XksRoute(keystore, XksApi.GetHealthStatus, "", true);
                return null;
            }

            if (!rest.StartsWith("keys/"))
            {
                break;
            }

            rest = rest["keys/".Length..];
            var slash = rest.LastIndexOf('/');
            if (slash <= 0)
            {
                break;
            }

            XksApi api;
            var operation = rest[(slash + 1)..];
            if (operation.SequenceEqual("encrypt"))
            {
                api = XksApi.Encrypt;
            }
            else if (operation.SequenceEqual("decrypt"))
            {
                api = XksApi.Decrypt;
            }
            else if (operation.SequenceEqual("metadata"))
            {
                api = XksApi.GetKeyMetadata;
            }
            else
            {
                break;
            }

            var keyId = rest[..slash];
            if (keyId.Contains('/'))
            {
                break;
            }

            route = new XksRoute(keystore, api, keyId.ToString(), IsValidKeyId(keyId));
            return null;
        }

        return new XksFailure(XksErrorName.InvalidUriPathException, "The URI path is not a valid XKS Proxy API path for any configured keystore.");
    }

    /// <summary>Spec: 1-128 characters of A-Z, a-z, 0-9, '-', '.', '_'.</summary>
    public static bool IsValidKeyId(ReadOnlySpan<char> keyId)
    {
        if (keyId.Length is 0 or > MaxKeyIdLength)
        {
            return false;
        }

        foreach (var c in keyId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_'))
            {
                return false;
            }
        }

        return true;
    }
}
