namespace XksGrpc.Edge.Authentication;

/// <summary>
/// The parsed <c>Authorization</c> header (spec Appendix A, "General format"):
/// <c>AWS4-HMAC-SHA256 Credential=&lt;akid&gt;/&lt;yyyymmdd&gt;/&lt;region&gt;/&lt;service&gt;/aws4_request, SignedHeaders=h1;h2, Signature=&lt;64 hex&gt;</c>.
/// Every field is a slice of the header itself, so parsing allocates nothing.
/// </summary>
/// <remarks>
/// Parsing is strict: exactly the three components (any order, each once, separated by ',' and optional
/// spaces), a five-part credential scope ending in <c>aws4_request</c>, signed header names lowercase and
/// strictly ascending (as every signer emits them, which also rules out duplicates), and a signature of
/// exactly 64 lowercase hex digits.
/// </remarks>
internal readonly ref struct AuthorizationHeader
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>
    /// HTTP/2's pseudo-header for the host (spec Appendix A, Task 1: "the Host header for HTTP/1.1 (or
    /// Authority Header for HTTP/2.0)"). Signers sign <c>host</c>; one that signs <c>:authority</c> instead is
    /// accepted, with the value Kestrel surfaces as Host.
    /// </summary>
    public const string Authority = ":authority";

    /// <summary>Longest header accepted: far above any real one, low enough to bound the work on garbage.</summary>
    public const int MaxLength = 4096;

    /// <summary>Most signed headers accepted.</summary>
    public const int MaxSignedHeaders = 64;

    private const int MaxAccessKeyIdLength = 128;
    private const int MaxRegionLength = 32;
    private const int MaxServiceLength = 64;

    private AuthorizationHeader(ReadOnlySpan<char> credential, int akidEnd, int dateEnd, int regionEnd, int serviceEnd, ReadOnlySpan<char> signedHeaders, ReadOnlySpan<char> signature)
    {
        Credential = credential;
        AccessKeyId = credential[..akidEnd];
        Date = credential[(akidEnd + 1)..dateEnd];
        Region = credential[(dateEnd + 1)..regionEnd];
        Service = credential[(regionEnd + 1)..serviceEnd];
        Scope = credential[(akidEnd + 1)..];
        CacheKey = credential[..serviceEnd];
        SignedHeaders = signedHeaders;
        Signature = signature;
    }

    /// <summary>The whole Credential value: <c>akid/date/region/service/aws4_request</c>.</summary>
    public ReadOnlySpan<char> Credential { get; }

    public ReadOnlySpan<char> AccessKeyId { get; }

    /// <summary>The scope date, <c>yyyymmdd</c>.</summary>
    public ReadOnlySpan<char> Date { get; }

    public ReadOnlySpan<char> Region { get; }

    public ReadOnlySpan<char> Service { get; }

    /// <summary>The credential scope of the string to sign: <c>date/region/service/aws4_request</c>.</summary>
    public ReadOnlySpan<char> Scope { get; }

    /// <summary><c>akid/date/region/service</c>: identifies one derived signing key.</summary>
    public ReadOnlySpan<char> CacheKey { get; }

    /// <summary>The SignedHeaders value, e.g. <c>content-type;host;x-amz-date</c>.</summary>
    public ReadOnlySpan<char> SignedHeaders { get; }

    /// <summary>The 64 lowercase hex digits of the signature.</summary>
    public ReadOnlySpan<char> Signature { get; }

    /// <summary>Parses <paramref name="value"/>; never throws.</summary>
    public static SigV4Failure TryParse(ReadOnlySpan<char> value, out AuthorizationHeader header)
    {
        header = default;
        if (value.IsEmpty)
        {
            return SigV4Failure.MissingAuthorization;
        }

        if (value.Length > MaxLength)
        {
            return SigV4Failure.MalformedAuthorization;
        }

        int space = value.IndexOf(' ');
        ReadOnlySpan<char> algorithm = space < 0 ? value : value[..space];
        if (!algorithm.SequenceEqual(Algorithm))
        {
            return SigV4Failure.UnsupportedAlgorithm;
        }

        if (space < 0)
        {
            return SigV4Failure.MalformedAuthorization;
        }

        ReadOnlySpan<char> rest = value[space..];
        ReadOnlySpan<char> credential = default, signedHeaders = default, signature = default;
        bool seenCredential = false, seenSignedHeaders = false, seenSignature = false;
        while (!rest.IsEmpty)
        {
            int comma = rest.IndexOf(',');
            ReadOnlySpan<char> part = (comma < 0 ? rest : rest[..comma]).Trim(' ');
            rest = comma < 0 ? default : rest[(comma + 1)..];
            if (comma >= 0 && rest.IsEmpty)
            {
                return SigV4Failure.MalformedAuthorization; // trailing comma
            }

            int equals = part.IndexOf('=');
            if (equals <= 0 || equals == part.Length - 1)
            {
                return SigV4Failure.MalformedAuthorization;
            }

            ReadOnlySpan<char> name = part[..equals];
            ReadOnlySpan<char> content = part[(equals + 1)..];
            if (name.SequenceEqual("Credential") && !seenCredential)
            {
                credential = content;
                seenCredential = true;
            }
            else if (name.SequenceEqual("SignedHeaders") && !seenSignedHeaders)
            {
                signedHeaders = content;
                seenSignedHeaders = true;
            }
            else if (name.SequenceEqual("Signature") && !seenSignature)
            {
                signature = content;
                seenSignature = true;
            }
            else
            {
                return SigV4Failure.MalformedAuthorization; // unknown or repeated component
            }
        }

        if (!(seenCredential && seenSignedHeaders && seenSignature))
        {
            return SigV4Failure.MalformedAuthorization;
        }

        if (signature.Length != 64 || !IsLowerHex(signature) || !IsValidSignedHeaders(signedHeaders))
        {
            return SigV4Failure.MalformedAuthorization;
        }

        // akid/yyyymmdd/region/service/aws4_request
        int akidEnd = credential.IndexOf('/');
        if (akidEnd <= 0 || akidEnd > MaxAccessKeyIdLength || !IsAlphanumeric(credential[..akidEnd]))
        {
            return SigV4Failure.MalformedCredentialScope;
        }

        int dateEnd = akidEnd + 9;
        if (dateEnd >= credential.Length || credential[dateEnd] != '/' || !IsDigits(credential[(akidEnd + 1)..dateEnd]))
        {
            return SigV4Failure.MalformedCredentialScope;
        }

        int regionLength = credential[(dateEnd + 1)..].IndexOf('/');
        if (regionLength <= 0 || regionLength > MaxRegionLength)
        {
            return SigV4Failure.MalformedCredentialScope;
        }

        int regionEnd = dateEnd + 1 + regionLength;
        int serviceLength = credential[(regionEnd + 1)..].IndexOf('/');
        if (serviceLength <= 0 || serviceLength > MaxServiceLength)
        {
            return SigV4Failure.MalformedCredentialScope;
        }

        int serviceEnd = regionEnd + 1 + serviceLength;
        if (!IsScopeToken(credential[(dateEnd + 1)..regionEnd])
            || !IsScopeToken(credential[(regionEnd + 1)..serviceEnd])
            || !credential[(serviceEnd + 1)..].SequenceEqual("aws4_request"))
        {
            return SigV4Failure.MalformedCredentialScope;
        }

        header = new AuthorizationHeader(credential, akidEnd, dateEnd, regionEnd, serviceEnd, signedHeaders, signature);
        return SigV4Failure.None;
    }

    /// <summary>True when the host is signed, as <c>host</c> or as HTTP/2's <c>:authority</c>.</summary>
    public bool SignsHost => Signs("host") || Signs(Authority);

    /// <summary>True when <paramref name="name"/> (lowercase) is one of the signed headers.</summary>
    public bool Signs(ReadOnlySpan<char> name)
    {
        ReadOnlySpan<char> rest = SignedHeaders;
        while (true)
        {
            int semicolon = rest.IndexOf(';');
            ReadOnlySpan<char> current = semicolon < 0 ? rest : rest[..semicolon];
            if (current.SequenceEqual(name))
            {
                return true;
            }

            if (semicolon < 0)
            {
                return false;
            }

            rest = rest[(semicolon + 1)..];
        }
    }

    private static bool IsValidSignedHeaders(ReadOnlySpan<char> value)
    {
        ReadOnlySpan<char> previous = default;
        int count = 0;
        while (true)
        {
            int semicolon = value.IndexOf(';');
            ReadOnlySpan<char> name = semicolon < 0 ? value : value[..semicolon];
            if (name.IsEmpty || ++count > MaxSignedHeaders || !(IsLowercaseToken(name) || name is Authority))
            {
                return false;
            }

            // Strictly ascending: the canonical order, and no name twice.
            if (count > 1 && previous.SequenceCompareTo(name) >= 0)
            {
                return false;
            }

            // A signature cannot cover the header that carries it.
            if (name.SequenceEqual("authorization"))
            {
                return false;
            }

            if (semicolon < 0)
            {
                return true;
            }

            previous = name;
            value = value[(semicolon + 1)..];
        }
    }

    /// <summary>RFC 9110 token characters, lowercase only.</summary>
    private static bool IsLowercaseToken(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            bool ok = c is (>= 'a' and <= 'z') or (>= '0' and <= '9')
                or '!' or '#' or '$' or '%' or '&' or '\'' or '*' or '+' or '-' or '.' or '^' or '_' or '`' or '|' or '~';
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsScopeToken(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsAlphanumeric(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9')))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsDigits(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsLowerHex(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }
}
