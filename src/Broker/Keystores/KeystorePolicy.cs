using Microsoft.Extensions.Options;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Errors;

namespace XksGrpc.Broker.Keystores;

/// <summary>
/// Which external key ids each keystore may use (configuration Broker:Keystores). The broker's own
/// list decides: the edge's word alone opens no other key (issue 2). A key outside the list is
/// answered KeyNotFoundException, exactly as a key missing from the HSM.
/// </summary>
internal sealed class KeystorePolicy
{
    private readonly Dictionary<string, HashSet<string>> _keys;

    public KeystorePolicy(IOptions<BrokerOptions> options)
    {
        _keys = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var ks in options.Value.Keystores)
        {
            _keys[ks.Name] = new HashSet<string>(ks.Keys, StringComparer.Ordinal);
        }
    }

    public bool IsKnownKeystore(string keystore) => _keys.ContainsKey(keystore);

    public void EnsureAllowed(string keystore, string externalKeyId)
    {
        if (!_keys.TryGetValue(keystore, out var keys) || !keys.Contains(externalKeyId))
        {
            throw XksException.KeyNotFound($"The key '{externalKeyId}' is not available in keystore '{Printable(keystore)}'.");
        }
    }

    private static string Printable(string text) => text.Length > 64 ? text[..64] : text;
}
