namespace XksGrpc.Broker.Pkcs11;

/// <summary>The PKCS#11 usage attributes the broker reports as keyUsage (spec, GetKeyMetadata).</summary>
[Flags]
internal enum KeyUsage
{
    None = 0,
    Encrypt = 1,
    Decrypt = 2,
    Wrap = 4,
    Unwrap = 8,
    Sign = 16,
    Verify = 32,
    Derive = 64,
}

internal static class KeyUsageNames
{
    private static readonly (KeyUsage Flag, string Name)[] Ordered =
    [
        (KeyUsage.Encrypt, "ENCRYPT"), (KeyUsage.Decrypt, "DECRYPT"), (KeyUsage.Wrap, "WRAP"),
        (KeyUsage.Unwrap, "UNWRAP"), (KeyUsage.Sign, "SIGN"), (KeyUsage.Verify, "VERIFY"), (KeyUsage.Derive, "DERIVE"),
    ];

    /// <summary>The spec's keyUsage strings, in the proto's order (at most seven, within the spec's ten).</summary>
    public static List<string> ToNames(KeyUsage usage)
    {
        var names = new List<string>(Ordered.Length);
        foreach (var (flag, name) in Ordered)
        {
            if ((usage & flag) != 0)
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>Parses "encrypt,decrypt,..." (or "none"); null with a message when a word is unknown.</summary>
    public static KeyUsage? Parse(string text, out string? problem)
    {
        problem = null;
        var usage = KeyUsage.None;
        foreach (var raw in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var word = raw.ToUpperInvariant();
            if (word == "NONE")
            {
                continue;
            }

            var found = false;
            foreach (var (flag, name) in Ordered)
            {
                if (name == word)
                {
                    usage |= flag;
                    found = true;
                }
            }

            if (!found)
            {
                problem = $"unknown usage '{raw}' (use encrypt, decrypt, wrap, unwrap, sign, verify, derive or none)";
                return null;
            }
        }

        return usage;
    }
}
