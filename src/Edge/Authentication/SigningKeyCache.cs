using System.Collections.Concurrent;

namespace XksGrpc.Edge.Authentication;

/// <summary>
/// Derived signing keys per (credential, date, region, service): with them a verification costs one
/// HMAC instead of five. Bounded (cleared when full); entries are added only after a signature verified,
/// so a caller without the secret cannot fill it; entries of a removed or changed credential are dropped
/// by <see cref="Invalidate"/> and never used for another secret (the entry remembers its credential).
/// </summary>
internal sealed class SigningKeyCache
{
    public const int DefaultCapacity = 1024;

    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly int _capacity;

    public SigningKeyCache(int capacity = DefaultCapacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _capacity = capacity;
        _lookup = _entries.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _entries.Count;

    /// <param name="scopeKey"><c>akid/yyyymmdd/region/service</c>.</param>
    public bool TryGet(ReadOnlySpan<char> scopeKey, SigV4Credential credential, Span<byte> signingKey)
    {
        if (_lookup.TryGetValue(scopeKey, out Entry? entry) && ReferenceEquals(entry.Credential, credential))
        {
            entry.Key.CopyTo(signingKey);
            return true;
        }

        return false;
    }

    public void Add(ReadOnlySpan<char> scopeKey, SigV4Credential credential, ReadOnlySpan<byte> signingKey)
    {
        if (_entries.Count >= _capacity)
        {
            _entries.Clear();
        }

        _lookup[scopeKey] = new Entry(credential, signingKey.ToArray());
    }

    /// <summary>Drops every key derived for <paramref name="accessKeyId"/> (its credential was removed or changed).</summary>
    public void Invalidate(string accessKeyId)
    {
        foreach (KeyValuePair<string, Entry> pair in _entries)
        {
            if (pair.Key.Length > accessKeyId.Length
                && pair.Key[accessKeyId.Length] == '/'
                && pair.Key.StartsWith(accessKeyId, StringComparison.Ordinal))
            {
                _entries.TryRemove(pair.Key, out _);
            }
        }
    }

    public void Clear() => _entries.Clear();

    private sealed class Entry(SigV4Credential credential, byte[] key)
    {
        public SigV4Credential Credential { get; } = credential;

        public byte[] Key { get; } = key;
    }
}
