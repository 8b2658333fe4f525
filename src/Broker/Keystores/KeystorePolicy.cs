using System.Collections.Frozen;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.Logging;

namespace XksGrpc.Broker.Keystores;

/// <summary>
/// Which external key ids each keystore may use (configuration Broker:Keystores). The broker's own
/// list decides: the edge's word alone opens no other key (issue 2). A key outside the list is
/// answered KeyNotFoundException, exactly as a key missing from the HSM.
/// </summary>
/// <remarks>
/// The lists follow the configuration file: when it changes, Broker:Keystores is read again and
/// validated by the start-up rules (<see cref="KeystoresValidator"/>); a valid set replaces the old
/// one atomically, an invalid one is logged and the last good set stays in force. Every other
/// broker setting is read once at start.
/// </remarks>
internal sealed class KeystorePolicy : IDisposable
{
    private readonly IConfiguration? _configuration;
    private readonly string _healthKeyLabel;
    private readonly ILogger _logger;
    private readonly IDisposable? _subscription;
    private volatile FrozenDictionary<string, FrozenSet<string>> _keys;

    public KeystorePolicy(IOptions<BrokerOptions> options, IConfiguration? configuration = null, ILogger<KeystorePolicy>? logger = null)
    {
        _configuration = configuration;
        _healthKeyLabel = options.Value.Pkcs11.HealthKeyLabel;
        _logger = (ILogger?)logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _keys = Freeze(options.Value.Keystores);
        if (configuration is not null)
        {
            _subscription = ChangeToken.OnChange(configuration.GetReloadToken, Reload);
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

    public void Dispose() => _subscription?.Dispose();

    private void Reload()
    {
        var candidate = new BrokerOptions();
        _configuration!.GetSection(BrokerOptions.Section).Bind(candidate);
        candidate.Pkcs11.HealthKeyLabel = _healthKeyLabel;
        var result = new KeystoresValidator().Validate(null, candidate);
        if (result.Failed)
        {
            BrokerLog.KeystoresReloadRejected(_logger, result.FailureMessage);
            return;
        }

        var next = Freeze(candidate.Keystores);
        if (!SameAs(next))
        {
            _keys = next;
            BrokerLog.KeystoresReloaded(_logger, next.Count, next.Values.Sum(k => k.Count));
        }
    }

    private bool SameAs(FrozenDictionary<string, FrozenSet<string>> next)
    {
        var current = _keys;
        return current.Count == next.Count
            && next.All(pair => current.TryGetValue(pair.Key, out var keys) && keys.SetEquals(pair.Value));
    }

    private static FrozenDictionary<string, FrozenSet<string>> Freeze(IEnumerable<KeystoreOptions> keystores) =>
        keystores.ToFrozenDictionary(ks => ks.Name, ks => ks.Keys.ToFrozenSet(StringComparer.Ordinal), StringComparer.Ordinal);

    private static string Printable(string text) => text.Length > 64 ? text[..64] : text;
}
