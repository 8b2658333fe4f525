using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace XksGrpc.Edge.Authentication;

/// <summary>
/// SigV4 Task 1, "Create a canonical request" (spec Appendix A, Task 1, which defers to AWS's SigV4
/// documentation):
/// <code>
/// HTTPRequestMethod '\n' CanonicalURI '\n' CanonicalQueryString '\n'
/// CanonicalHeaders '\n' SignedHeaders '\n' HexEncode(SHA256(RequestPayload))
/// </code>
/// The canonical URI follows AWS's rules for every service but S3, as the official test-suite vectors
/// demand: dot segments and repeated slashes are removed, then each segment is URI-encoded (everything but
/// <c>A-Z a-z 0-9 - _ . ~</c>) from the path as received, so an already percent-encoded path is encoded
/// again. XKS paths (<c>/prefix/kms/xks/v1/keys/&lt;id&gt;/encrypt</c>) contain only unreserved characters
/// and '/', so for them it is the path itself.
/// </summary>
internal static class CanonicalRequest
{
    /// <summary>
    /// Writes the canonical request. <paramref name="signedHeaders"/> must already be validated (lowercase,
    /// strictly ascending, as <see cref="AuthorizationHeader"/> guarantees).
    /// </summary>
    /// <returns><see cref="SigV4Failure.SignedHeaderAbsent"/> when a signed header is not in the request.</returns>
    public static SigV4Failure Write(ref ByteBuffer buffer, in SigV4Request request, ReadOnlySpan<char> signedHeaders, ReadOnlySpan<byte> payloadHashHex,
        CanonicalUriForm uriForm = CanonicalUriForm.Encoded)
    {
        buffer.AppendUtf8(request.Method);
        buffer.Append((byte)'\n');
        if (uriForm == CanonicalUriForm.AsSent)
        {
            buffer.AppendUtf8(request.RawPath);
        }
        else
        {
            WriteCanonicalUri(ref buffer, request.RawPath);
        }

        buffer.Append((byte)'\n');
        WriteCanonicalQueryString(ref buffer, request.RawQuery);
        buffer.Append((byte)'\n');

        ReadOnlySpan<char> rest = signedHeaders;
        while (true)
        {
            int semicolon = rest.IndexOf(';');
            ReadOnlySpan<char> name = semicolon < 0 ? rest : rest[..semicolon];
            StringValues values = request.Headers[HeaderName(name)];
            if (values.Count == 0)
            {
                return SigV4Failure.SignedHeaderAbsent;
            }

            buffer.AppendUtf8(name);
            buffer.Append((byte)':');
            WriteCanonicalHeaderValue(ref buffer, values);
            buffer.Append((byte)'\n');
            if (semicolon < 0)
            {
                break;
            }

            rest = rest[(semicolon + 1)..];
        }

        buffer.Append((byte)'\n');
        buffer.AppendUtf8(signedHeaders);
        buffer.Append((byte)'\n');
        buffer.Append(payloadHashHex);
        return SigV4Failure.None;
    }

    /// <summary>
    /// The canonical request as text, hashing <see cref="SigV4Request.Body"/> itself: for tests and diagnostics.
    /// Throws <see cref="InvalidOperationException"/> when a signed header is absent.
    /// </summary>
    public static string Format(in SigV4Request request, string signedHeaders)
    {
        Span<byte> payloadHash = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> payloadHashHex = stackalloc byte[2 * SHA256.HashSizeInBytes];
        SHA256.HashData(request.Body.Span, payloadHash);
        Hex.WriteLower(payloadHash, payloadHashHex);
        var buffer = new ByteBuffer(stackalloc byte[1024]);
        try
        {
            SigV4Failure failure = Write(ref buffer, request, signedHeaders, payloadHashHex);
            return failure == SigV4Failure.None ? buffer.ToString() : throw new InvalidOperationException(failure.ToString());
        }
        finally
        {
            buffer.Dispose();
        }
    }

    /// <summary>
    /// True when the path as sent differs from its <see cref="CanonicalUriForm.Encoded"/> form (it has a
    /// character other than unreserved ones and '/'), so a signer that uses it as it is (curl) signed something
    /// else, and the path has no encoded '%' ("%25"): with one, the as-sent form of this path could equal the
    /// encoded form of another path, and a signature could be moved from one to the other.
    /// </summary>
    public static bool HasDistinctAsSentForm(ReadOnlySpan<char> rawPath)
    {
        bool distinct = false;
        foreach (char c in rawPath)
        {
            if (c != '/' && !IsUnreserved(c))
            {
                distinct = true;
                break;
            }
        }

        return distinct && !rawPath.Contains("%25", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>CanonicalURI: normalized (no '.', '..' or empty segments), each segment URI-encoded.</summary>
    public static void WriteCanonicalUri(ref ByteBuffer buffer, ReadOnlySpan<char> rawPath)
    {
        Range[]? rented = null;
        Span<Range> kept = rawPath.Length <= 64
            ? stackalloc Range[64]
            : (rented = ArrayPool<Range>.Shared.Rent(rawPath.Length));
        try
        {
            int count = 0;
            bool trailingSlash = false;
            int start = 0;
            while (start <= rawPath.Length)
            {
                int slash = rawPath[start..].IndexOf('/');
                int end = slash < 0 ? rawPath.Length : start + slash;
                ReadOnlySpan<char> segment = rawPath[start..end];
                bool last = slash < 0;
                if (segment.IsEmpty)
                {
                    trailingSlash = last; // a path ending in '/' keeps it
                }
                else if (segment is ".")
                {
                    trailingSlash = last;
                }
                else if (segment is "..")
                {
                    if (count > 0)
                    {
                        count--;
                    }

                    trailingSlash = last;
                }
                else
                {
                    kept[count++] = new Range(start, end);
                    trailingSlash = false;
                }

                if (last)
                {
                    break;
                }

                start = end + 1;
            }

            if (count == 0)
            {
                buffer.Append((byte)'/');
                return;
            }

            for (int i = 0; i < count; i++)
            {
                buffer.Append((byte)'/');
                WriteUriEncoded(ref buffer, rawPath[kept[i]]);
            }

            if (trailingSlash)
            {
                buffer.Append((byte)'/');
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<Range>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// CanonicalQueryString: each name and value percent-decoded then URI-encoded, pairs sorted by name then
    /// value, joined with '&amp;'; a parameter without '=' gets an empty value. XKS requests have no query,
    /// so this path is off the hot path and may allocate.
    /// </summary>
    public static void WriteCanonicalQueryString(ref ByteBuffer buffer, ReadOnlySpan<char> rawQuery)
    {
        if (!rawQuery.IsEmpty && rawQuery[0] == '?')
        {
            rawQuery = rawQuery[1..];
        }

        if (rawQuery.IsEmpty)
        {
            return;
        }

        var pairs = new List<KeyValuePair<string, string>>();
        foreach (Range range in rawQuery.Split('&'))
        {
            ReadOnlySpan<char> parameter = rawQuery[range];
            if (parameter.IsEmpty)
            {
                continue;
            }

            int equals = parameter.IndexOf('=');
            ReadOnlySpan<char> name = equals < 0 ? parameter : parameter[..equals];
            ReadOnlySpan<char> value = equals < 0 ? default : parameter[(equals + 1)..];
            pairs.Add(new(Reencode(name), Reencode(value)));
        }

        // Encoded forms are ASCII, so ordinal order is the byte order SigV4 asks for.
        pairs.Sort(static (a, b) =>
        {
            int byName = string.CompareOrdinal(a.Key, b.Key);
            return byName != 0 ? byName : string.CompareOrdinal(a.Value, b.Value);
        });

        for (int i = 0; i < pairs.Count; i++)
        {
            if (i > 0)
            {
                buffer.Append((byte)'&');
            }

            buffer.AppendUtf8(pairs[i].Key);
            buffer.Append((byte)'=');
            buffer.AppendUtf8(pairs[i].Value);
        }
    }

    /// <summary>
    /// One canonical header value: each value trimmed, inner runs of spaces/tabs collapsed to one space
    /// (AWS's "Trimall"), several values of the same header joined with ',' in the order received.
    /// </summary>
    public static void WriteCanonicalHeaderValue(ref ByteBuffer buffer, StringValues values)
    {
        for (int i = 0; i < values.Count; i++)
        {
            if (i > 0)
            {
                buffer.Append((byte)',');
            }

            ReadOnlySpan<char> value = (values[i] ?? string.Empty).AsSpan().Trim(" \t");
            while (!value.IsEmpty)
            {
                int whitespace = value.IndexOfAny(' ', '\t');
                if (whitespace < 0)
                {
                    buffer.AppendUtf8(value);
                    break;
                }

                buffer.AppendUtf8(value[..whitespace]);
                buffer.Append((byte)' ');
                value = value[whitespace..].TrimStart(" \t");
            }
        }
    }

    /// <summary>URI-encodes text (as UTF-8): unreserved characters as they are, every other byte as %XX.</summary>
    private static void WriteUriEncoded(ref ByteBuffer buffer, ReadOnlySpan<char> value)
    {
        Span<byte> utf8 = stackalloc byte[4];
        int i = 0;
        while (i < value.Length)
        {
            char c = value[i];
            if (c < 0x80)
            {
                if (IsUnreserved(c))
                {
                    buffer.Append((byte)c);
                }
                else
                {
                    buffer.AppendPercentEncoded((byte)c);
                }

                i++;
                continue;
            }

            // Lone surrogates become U+FFFD instead of throwing.
            Rune.DecodeFromUtf16(value[i..], out Rune rune, out int consumed);
            int written = rune.EncodeToUtf8(utf8);
            for (int b = 0; b < written; b++)
            {
                buffer.AppendPercentEncoded(utf8[b]);
            }

            i += consumed;
        }
    }

    private static string Reencode(ReadOnlySpan<char> component)
    {
        if (component.IsEmpty)
        {
            return string.Empty;
        }

        var decoded = new ByteBuffer(stackalloc byte[256]);
        var encoded = new ByteBuffer(stackalloc byte[256]);
        try
        {
            Span<byte> utf8 = stackalloc byte[4];
            int i = 0;
            while (i < component.Length)
            {
                char c = component[i];
                if (c == '%' && i + 2 < component.Length && IsHex(component[i + 1]) && IsHex(component[i + 2]))
                {
                    decoded.Append((byte)((HexValue(component[i + 1]) << 4) | HexValue(component[i + 2])));
                    i += 3;
                    continue;
                }

                Rune.DecodeFromUtf16(component[i..], out Rune rune, out int consumed);
                decoded.Append(utf8[..rune.EncodeToUtf8(utf8)]);
                i += consumed;
            }

            foreach (byte b in decoded.Written)
            {
                if (b < 0x80 && IsUnreserved((char)b))
                {
                    encoded.Append(b);
                }
                else
                {
                    encoded.AppendPercentEncoded(b);
                }
            }

            return Encoding.ASCII.GetString(encoded.Written);
        }
        finally
        {
            decoded.Dispose();
            encoded.Dispose();
        }
    }

    private static bool IsUnreserved(char c)
        => c is (>= 'A' and <= 'Z') or (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_' or '.' or '~';

    private static bool IsHex(char c) => c is (>= '0' and <= '9') or (>= 'a' and <= 'f') or (>= 'A' and <= 'F');

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>The header name to look up: a constant for the usual ones, so the hot path does not allocate.</summary>
    private static string HeaderName(ReadOnlySpan<char> name) => name switch
    {
        "host" or AuthorizationHeader.Authority => HeaderNames.Host, // Kestrel surfaces HTTP/2's :authority as Host
        "x-amz-date" => SigV4Verifier.AmzDateHeader,
        "content-type" => HeaderNames.ContentType,
        "content-length" => HeaderNames.ContentLength,
        "x-amz-content-sha256" => SigV4Verifier.AmzContentSha256Header,
        _ => name.ToString(),
    };
}
