using System.Globalization;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// Reads the token's AES-256 secret keys and the attributes the broker serves from: label, usage
/// flags and CKA_END_DATE (the disable mechanism, design.md). Only CKO_SECRET_KEY / CKK_AES /
/// 32-byte keys count as external keys (issue 2).
/// </summary>
internal static class KeyReader
{
    private static readonly List<CKA> Attributes =
    [
        CKA.CKA_LABEL, CKA.CKA_VALUE_LEN, CKA.CKA_ENCRYPT, CKA.CKA_DECRYPT, CKA.CKA_WRAP, CKA.CKA_UNWRAP,
        CKA.CKA_SIGN, CKA.CKA_VERIFY, CKA.CKA_DERIVE, CKA.CKA_END_DATE,
    ];

    public static List<KeyCatalog.Entry> ReadAll(ISession session, Pkcs11InteropFactories factories, DateOnly today) =>
        Read(session, factories, label: null, today);

    public static List<KeyCatalog.Entry> Read(ISession session, Pkcs11InteropFactories factories, string? label, DateOnly today)
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
            var usage = KeyUsage.None;
            usage |= Flag(a[2], KeyUsage.Encrypt) | Flag(a[3], KeyUsage.Decrypt) | Flag(a[4], KeyUsage.Wrap) |
                     Flag(a[5], KeyUsage.Unwrap) | Flag(a[6], KeyUsage.Sign) | Flag(a[7], KeyUsage.Verify) | Flag(a[8], KeyUsage.Derive);
            var endDate = a[9].CannotBeRead ? null : ParseDate(a[9].GetValueAsByteArray());
            var enabled = endDate is null || endDate.Value >= today;
            entries.Add(new KeyCatalog.Entry(keyLabel, handle, usage, enabled));
        }

        return entries;
    }

    private static KeyUsage Flag(IObjectAttribute attribute, KeyUsage flag) =>
        !attribute.CannotBeRead && attribute.GetValueAsBool() ? flag : KeyUsage.None;

    /// <summary>CK_DATE is 8 ASCII digits YYYYMMDD; empty or all zero means "not set".</summary>
    internal static DateOnly? ParseDate(byte[]? value)
    {
        if (value is null || value.Length != 8)
        {
            return null;
        }

        Span<char> chars = stackalloc char[8];
        for (var i = 0; i < 8; i++)
        {
            chars[i] = (char)value[i];
        }

        if (chars.SequenceEqual("00000000") || chars.SequenceEqual("        "))
        {
            return null;
        }

        return DateOnly.TryParseExact(chars, "yyyyMMdd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d : null;
    }
}
