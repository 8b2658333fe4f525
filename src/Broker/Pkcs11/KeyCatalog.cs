using System.Globalization;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// One version of an external key: the AES-256 secret key labelled <c>foo</c> (version 1) or
/// <c>foo#N</c> (version N ≥ 2), with the attributes read when the catalog was loaded, so the hot
/// path never reads attributes.
/// </summary>
internal sealed class KeyVersion(string label, uint version, IObjectHandle handle, KeyUsage usage, bool enabled, int duplicates)
{
    public string Label { get; } = label;
    public uint Version { get; } = version;
    internal IObjectHandle Handle { get; } = handle;
    public KeyUsage Usage { get; } = usage;

    /// <summary>The ciphertextMetadata naming this version (immutable; shared by every response).</summary>
    public byte[] Metadata { get; } = Cryptography.CiphertextMetadata.Encode(version);

    /// <summary>False when the operator disabled this version (see <see cref="KeyReader"/>).</summary>
    public bool Enabled { get; } = enabled;

    /// <summary>How many objects carry this label; more than one is refused.</summary>
    public int Duplicates { get; } = duplicates;
}

/// <summary>All versions of one external key id, ascending.</summary>
internal sealed class KeyFamily(string id, KeyVersion[] versions)
{
    public string Id { get; } = id;
    public KeyVersion[] Versions { get; } = versions;

    /// <summary>The version Encrypt uses: the highest enabled one.</summary>
    public KeyVersion? Current
    {
        get
        {
            for (var i = Versions.Length - 1; i >= 0; i--)
            {
                if (Versions[i].Enabled)
                {
                    return Versions[i];
                }
            }

            return null;
        }
    }

    /// <summary>The newest version, enabled or not.</summary>
    public KeyVersion Latest => Versions[^1];

    public KeyVersion? Find(uint version)
    {
        foreach (var v in Versions)
        {
            if (v.Version == version)
            {
                return v;
            }
        }

        return null;
    }

    public KeyVersion? FirstDuplicate
    {
        get
        {
            foreach (var v in Versions)
            {
                if (v.Duplicates > 1)
                {
                    return v;
                }
            }

            return null;
        }
    }
}

/// <summary>An immutable snapshot of a token's AES-256 keys, by external key id.</summary>
internal sealed class KeyCatalog
{
    public static readonly KeyCatalog Empty = new(new Dictionary<string, KeyFamily>(StringComparer.Ordinal), 0);

    private readonly Dictionary<string, KeyFamily> _families;

    private KeyCatalog(Dictionary<string, KeyFamily> families, long loadedAtMs)
    {
        _families = families;
        LoadedAtMs = loadedAtMs;
    }

    /// <summary>Environment.TickCount64 when the catalog was read from the token.</summary>
    public long LoadedAtMs { get; }

    public int Count => _families.Count;

    public IEnumerable<KeyFamily> Families => _families.Values;

    public KeyFamily? Find(string externalKeyId) => _families.GetValueOrDefault(externalKeyId);

    /// <summary>One key object as read from the token.</summary>
    public readonly record struct Entry(string Label, IObjectHandle Handle, KeyUsage Usage, bool Enabled);

    public static KeyCatalog Build(IReadOnlyList<Entry> entries, long loadedAtMs)
    {
        var byLabel = new Dictionary<string, List<Entry>>(StringComparer.Ordinal);
        foreach (var e in entries)
        {
            if (!byLabel.TryGetValue(e.Label, out var list))
            {
                byLabel[e.Label] = list = [];
            }

            list.Add(e);
        }

        var versions = new Dictionary<string, List<KeyVersion>>(StringComparer.Ordinal);
        foreach (var (label, list) in byLabel)
        {
            if (!TryParseLabel(label, out var id, out var version))
            {
                continue;
            }

            var first = list[0];
            if (!versions.TryGetValue(id, out var vs))
            {
                versions[id] = vs = [];
            }

            vs.Add(new KeyVersion(label, version, first.Handle, first.Usage, first.Enabled, list.Count));
        }

        var families = new Dictionary<string, KeyFamily>(StringComparer.Ordinal);
        foreach (var (id, vs) in versions)
        {
            vs.Sort(static (a, b) => a.Version.CompareTo(b.Version));
            families[id] = new KeyFamily(id, [.. vs]);
        }

        return new KeyCatalog(families, loadedAtMs);
    }

    /// <summary>"foo" is version 1 of foo; "foo#N" with N ≥ 2 is version N. Other labels are ignored.</summary>
    public static bool TryParseLabel(string label, out string id, out uint version)
    {
        var hash = label.LastIndexOf('#');
        if (hash < 0)
        {
            id = label;
            version = 1;
            return label.Length > 0;
        }

        id = label[..hash];
        var digits = label.AsSpan(hash + 1);
        if (id.Length > 0 && digits.Length is > 0 and <= 10 && digits[0] != '0' &&
            uint.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out version) && version >= 2 &&
            !id.Contains('#'))
        {
            return true;
        }

        version = 0;
        return false;
    }

    public static string LabelOf(string id, uint version) =>
        version == 1 ? id : string.Create(CultureInfo.InvariantCulture, $"{id}#{version}");
}
