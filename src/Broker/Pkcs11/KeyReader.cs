using System.Globalization;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// Reads the token's AES-256 secret keys and the attributes the broker serves from: label and usage
/// flags, and whether the operator disabled the key. Only CKO_SECRET_KEY / CKK_AES / 32-byte keys count
/// as external keys (issue 2).
/// <para>
/// Disable mechanism: a CKO_DATA object in the token with CKA_APPLICATION "xksgrpc" and CKA_LABEL
/// "disabled:&lt;key label&gt;" marks that key version DISABLED; deleting it enables the key again. The
/// PKCS#11 way, CKA_END_DATE, cannot be used: SoftHSM 2.6 answers CKR_GENERAL_ERROR when a private key's
/// CKA_END_DATE is set or read.
/// </para>
/// </summary>
internal static class KeyReader
{
    public const string MarkerApplication = "xksgrpc";
    public const string DisabledPrefix = "disabled:";

    private static readonly List<CKA> Attributes =
    [
        CKA.CKA_LABEL, CKA.CKA_VALUE_LEN, CKA.CKA_ENCRYPT, CKA.CKA_DECRYPT, CKA.CKA_WRAP, CKA.CKA_UNWRAP,
        CKA.CKA_SIGN, CKA.CKA_VERIFY, CKA.CKA_DERIVE,
    ];

    private static readonly List<CKA> LabelOnly = [CKA.CKA_LABEL];

    public static List<KeyCatalog.Entry> ReadAll(ISession session, Pkcs11InteropFactories factories) =>
        Read(session, factories, label: null);

    public static List<KeyCatalog.Entry> Read(ISession session, Pkcs11InteropFactories factories, string? label)
    {
        var f = factories.ObjectAttributeFactory;
        var template = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_SECRET_KEY),
            f.Create(CKA.CKA_KEY_TYPE, CKK.CKK_AES),
            f.Create(CKA.CKA_TOKEN, true),
        };
        if (label is not null)
        {
            template.Add(f.Create(CKA.CKA_LABEL, label));
        }

        var disabled = DisabledLabels(session, factories);
        var handles = session.FindAllObjects(template);
        var entries = new List<KeyCatalog.Entry>(handles.Count);
        foreach (var handle in handles)
        {
            var a = session.GetAttributeValue(handle, Attributes);
            if (a[0].CannotBeRead || a[1].CannotBeRead || a[1].GetValueAsUlong() != 32)
            {
                continue;
            }

            var keyLabel = a[0].GetValueAsString() ?? "";
            var usage = Flag(a[2], KeyUsage.Encrypt) | Flag(a[3], KeyUsage.Decrypt) | Flag(a[4], KeyUsage.Wrap) |
                        Flag(a[5], KeyUsage.Unwrap) | Flag(a[6], KeyUsage.Sign) | Flag(a[7], KeyUsage.Verify) | Flag(a[8], KeyUsage.Derive);
            entries.Add(new KeyCatalog.Entry(keyLabel, handle, usage, !disabled.Contains(keyLabel)));
        }

        return entries;
    }

    /// <summary>The labels of keys marked disabled.</summary>
    public static HashSet<string> DisabledLabels(ISession session, Pkcs11InteropFactories factories)
    {
        var labels = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (_, keyLabel) in DisabledMarkers(session, factories, null))
        {
            labels.Add(keyLabel);
        }

        return labels;
    }

    /// <summary>The disable markers (all, or those of <paramref name="keyLabel"/>).</summary>
    public static List<(IObjectHandle Handle, string KeyLabel)> DisabledMarkers(ISession session, Pkcs11InteropFactories factories, string? keyLabel)
    {
        var f = factories.ObjectAttributeFactory;
        var template = new List<IObjectAttribute>
        {
            f.Create(CKA.CKA_CLASS, CKO.CKO_DATA),
            f.Create(CKA.CKA_TOKEN, true),
            f.Create(CKA.CKA_APPLICATION, MarkerApplication),
        };
        if (keyLabel is not null)
        {
            template.Add(f.Create(CKA.CKA_LABEL, DisabledPrefix + keyLabel));
        }

        var markers = new List<(IObjectHandle, string)>();
        foreach (var handle in session.FindAllObjects(template))
        {
            var label = session.GetAttributeValue(handle, LabelOnly)[0];
            if (!label.CannotBeRead && label.GetValueAsString() is { } text && text.StartsWith(DisabledPrefix, StringComparison.Ordinal))
            {
                markers.Add((handle, text[DisabledPrefix.Length..]));
            }
        }

        return markers;
    }

    private static KeyUsage Flag(IObjectAttribute attribute, KeyUsage flag) =>
        !attribute.CannotBeRead && attribute.GetValueAsBool() ? flag : KeyUsage.None;
}
