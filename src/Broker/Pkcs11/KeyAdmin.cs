using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// Key provisioning on a logged-in read-write session (the admin command and tests): AES-256 keys
/// generated inside the token (CKM_AES_KEY_GEN), token objects, private, sensitive, never extractable.
/// Disable = a private CKO_DATA marker "disabled:&lt;label&gt;" of application "xksgrpc"; enable = the
/// marker deleted (see <see cref="KeyReader"/> for why not CKA_END_DATE).
/// </summary>
internal sealed class KeyAdmin(ISession session, Pkcs11InteropFactories factories)
{
    public enum CreateResult
    {
        Created,
        AlreadyExists,
    }

    /// <summary>Creates the AES-256 key <paramref name="label"/> unless a key with that label exists.</summary>
    public CreateResult Create(string label, KeyUsage usage)
    {
        if (Find(label).Count > 0)
        {
            return CreateResult.AlreadyExists;
        }

        Generate(label, usage);
        return CreateResult.Created;
    }

    /// <summary>Generates a key labelled <paramref name="label"/>, even if one exists (tests make duplicates with it).</summary>
    public void Generate(string label, KeyUsage usage)
    {
        var f = factories.ObjectAttributeFactory;
        var template = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
            f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
            f.Create(CKA.CKA_VALUE_LEN, 32UL),
            f.Create(CKA.CKA_LABEL, label),
            f.Create(CKA.CKA_TOKEN, true),
            f.Create(CKA.CKA_PRIVATE, true),
            f.Create(CKA.CKA_SENSITIVE, true),
            f.Create(CKA.CKA_EXTRACTABLE, false),
            f.Create(CKA.CKA_ENCRYPT, (usage & KeyUsage.Encrypt) != 0),
            f.Create(CKA.CKA_DECRYPT, (usage & KeyUsage.Decrypt) != 0),
            f.Create(CKA.CKA_WRAP, (usage & KeyUsage.Wrap) != 0),
            f.Create(CKA.CKA_UNWRAP, (usage & KeyUsage.Unwrap) != 0),
            f.Create(CKA.CKA_SIGN, (usage & KeyUsage.Sign) != 0),
            f.Create(CKA.CKA_VERIFY, (usage & KeyUsage.Verify) != 0),
            f.Create(CKA.CKA_DERIVE, (usage & KeyUsage.Derive) != 0),
        };
        using var mechanism = factories.MechanismFactory.Create(CKM.CKM_AES_KEY_GEN);
        session.GenerateKey(mechanism, template);
    }

    /// <summary>Adds the next version of <paramref name="externalKeyId"/>: label id#N+1, usage of the newest version unless given.</summary>
    public string Rotate(string externalKeyId, KeyUsage? usage)
    {
        var family = Catalog().Find(externalKeyId)
            ?? throw new InvalidOperationException($"no key '{externalKeyId}' to rotate; create it first");
        var next = family.Latest.Version + 1;
        var label = KeyCatalog.LabelOf(externalKeyId, next);
        Generate(label, usage ?? family.Latest.Usage);
        return label;
    }

    /// <summary>
    /// Disables or enables <paramref name="label"/>: a versioned label ("foo#2") changes that version,
    /// a bare id ("foo") changes every version of the key. Returns how many objects changed.
    /// </summary>
    public int SetEnabled(string label, bool enabled)
    {
        var labels = new List<string>();
        if (label.Contains('#'))
        {
            labels.Add(label);
        }
        else if (Catalog().Find(label) is { } family)
        {
            labels.AddRange(family.Versions.Select(v => v.Label));
        }

        var f = factories.ObjectAttributeFactory;
        var changed = 0;
        foreach (var l in labels)
        {
            if (Find(l).Count == 0)
            {
                continue;
            }

            var markers = KeyReader.DisabledMarkers(session, factories, l);
            if (enabled)
            {
                foreach (var (handle, _) in markers)
                {
                    session.DestroyObject(handle);
                }
            }
            else if (markers.Count == 0)
            {
                session.CreateObject(
                [
                    f.Create(CKA.CKA_CLASS, CKO.CKO_DATA),
                    f.Create(CKA.CKA_TOKEN, true),
                    f.Create(CKA.CKA_PRIVATE, true),
                    f.Create(CKA.CKA_APPLICATION, KeyReader.MarkerApplication),
                    f.Create(CKA.CKA_LABEL, KeyReader.DisabledPrefix + l),
                ]);
            }

            changed++;
        }

        return changed;
    }

    /// <summary>The token's external keys as the broker sees them now.</summary>
    public KeyCatalog Catalog() =>
        KeyCatalog.Build(KeyReader.ReadAll(session, factories), Environment.TickCount64);

    /// <summary>Deletes every key labelled <paramref name="label"/> (tests).</summary>
    public int Destroy(string label)
    {
        var entries = Find(label);
        foreach (var e in entries)
        {
            session.DestroyObject(e.Handle);
        }

        return entries.Count;
    }

    private List<KeyCatalog.Entry> Find(string label) => KeyReader.Read(session, factories, label);
}
