using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;

namespace XksGrpc.Edge.Audit;

/// <summary>
/// The audit log's on-disk format: one JSON object per line (UTF-8, '\n'-terminated), members always
/// present and always in this order (absent values are <c>null</c>):
/// <code>
/// {"seq":1,"time":"2026-11-28T12:30:00.123456Z","api":"Encrypt","keystore":"ks1","keyId":"foo",
///  "kmsRequestId":"…","kmsOperation":"Encrypt","awsPrincipalArn":"…","kmsKeyArn":"…","kmsViaService":null,
///  "awsSourceVpc":null,"awsSourceVpce":null,"tlsClientSubject":"CN=cks.kms.us-east-1.amazonaws.com",
///  "outcome":"ok","policyRule":"r1","latencyMs":1.25,"prev":"&lt;64 hex&gt;","hash":"&lt;64 hex&gt;"}
/// </code>
/// <list type="bullet">
/// <item><c>seq</c> starts at 1 and increases by exactly 1 per record, across restarts.</item>
/// <item><c>hash</c> = lowercase hex SHA-256 of the line's bytes up to and including the closing quote of
/// the <c>prev</c> value, i.e. the line without its final <c>,"hash":"…"}</c> (so the verifier never
/// re-serializes: it hashes bytes as found).</item>
/// <item><c>prev</c> = lowercase hex SHA-256 of the previous record's complete line (without its '\n');
/// 64 zeros for the first record of the file.</item>
/// </list>
/// An edited record breaks its own <c>hash</c>; a removed or reordered one breaks <c>seq</c> and the next
/// <c>prev</c>; a torn write leaves a line without '\n'. Records removed from the END are only detectable
/// against an anchor kept elsewhere (the head hash; see <see cref="AuditVerifier"/>).
/// </summary>
internal static class AuditRecordFormat
{
    /// <summary>The 64-zero <c>prev</c> of the first record.</summary>
    public static readonly string Genesis = new('0', 64);

    /// <summary>Every member a record has, in order. Nothing else is ever written.</summary>
    public static readonly IReadOnlyList<string> Fields =
    [
        "seq", "time", "api", "keystore", "keyId", "kmsRequestId", "kmsOperation", "awsPrincipalArn", "kmsKeyArn",
        "kmsViaService", "awsSourceVpc", "awsSourceVpce", "tlsClientSubject", "outcome", "policyRule", "latencyMs",
        "prev", "hash",
    ];

    /// <summary>The bytes that end the hashed prefix and start the hash member.</summary>
    internal static ReadOnlySpan<byte> HashMember => ",\"hash\":\""u8;

    private const int HexLength = 64;

    /// <summary>
    /// Writes one complete record line (with its trailing '\n') to <paramref name="output"/> and returns the
    /// chain hash of that line, the next record's <c>prev</c>.
    /// </summary>
    public static string Write(ArrayBufferWriter<byte> output, long seq, DateTimeOffset time, AuditEvent e, string prev)
    {
        int start = output.WrittenCount;
        using (var json = new Utf8JsonWriter(output))
        {
            json.WriteStartObject();
            json.WriteNumber("seq", seq);
            json.WriteString("time", time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'", CultureInfo.InvariantCulture));
            json.WriteString("api", Clean(e.Api));
            json.WriteString("keystore", Clean(e.Keystore));
            json.WriteString("keyId", Clean(e.KeyId));
            json.WriteString("kmsRequestId", Clean(e.KmsRequestId));
            json.WriteString("kmsOperation", Clean(e.KmsOperation));
            json.WriteString("awsPrincipalArn", Clean(e.AwsPrincipalArn));
            json.WriteString("kmsKeyArn", Clean(e.KmsKeyArn));
            json.WriteString("kmsViaService", Clean(e.KmsViaService));
            json.WriteString("awsSourceVpc", Clean(e.AwsSourceVpc));
            json.WriteString("awsSourceVpce", Clean(e.AwsSourceVpce));
            json.WriteString("tlsClientSubject", Clean(e.TlsClientSubject));
            json.WriteString("outcome", Clean(e.Outcome));
            json.WriteString("policyRule", Clean(e.PolicyRule));
            json.WriteNumber("latencyMs", double.IsFinite(e.LatencyMs) ? Math.Round(e.LatencyMs, 3) : -1);
            json.WriteString("prev", prev);

            // The object is closed by hand below: the hash member must come last and cover what precedes it.
            json.Flush();
        }

        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(output.WrittenSpan[start..], digest);
        Write(output, HashMember);
        WriteHex(output, digest);
        Write(output, "\"}"u8);

        SHA256.HashData(output.WrittenSpan[start..], digest);
        Write(output, "\n"u8);
        return Convert.ToHexStringLower(digest);
    }

    /// <summary>The chain hash of a complete line (without '\n').</summary>
    public static string LineHash(ReadOnlySpan<byte> line) => Convert.ToHexStringLower(SHA256.HashData(line));

    /// <summary>
    /// Checks a line's own <c>hash</c>: true when the line ends with <c>,"hash":"&lt;hex&gt;"}</c> and the hex
    /// is SHA-256 of everything before it.
    /// </summary>
    public static bool HasValidSelfHash(ReadOnlySpan<byte> line)
    {
        int suffix = HashMember.Length + HexLength + 2;
        if (line.Length < suffix + 2 || !line.EndsWith("\"}"u8))
        {
            return false;
        }

        int prefixLength = line.Length - suffix;
        if (!line[prefixLength..].StartsWith(HashMember))
        {
            return false;
        }

        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(line[..prefixLength], digest);
        Span<byte> hex = stackalloc byte[HexLength];
        ToHex(digest, hex);
        return line.Slice(prefixLength + HashMember.Length, HexLength).SequenceEqual(hex);
    }

    /// <summary>Replaces lone surrogates (which JSON cannot encode) with U+FFFD, so no value can stop the writer.</summary>
    private static string? Clean(string? value)
    {
        if (value is null || !value.AsSpan().ContainsAnyInRange('\uD800', '\uDFFF'))
        {
            return value;
        }

        return System.Text.Encoding.UTF8.GetString(System.Text.Encoding.UTF8.GetBytes(value));
    }

    internal static bool IsHex64(string? value) =>
        value is { Length: HexLength } && value.AsSpan().IndexOfAnyExcept("0123456789abcdef") < 0;

    private static void Write(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(output.GetSpan(bytes.Length));
        output.Advance(bytes.Length);
    }

    private static void WriteHex(ArrayBufferWriter<byte> output, ReadOnlySpan<byte> digest)
    {
        ToHex(digest, output.GetSpan(HexLength));
        output.Advance(HexLength);
    }

    private static void ToHex(ReadOnlySpan<byte> digest, Span<byte> hex)
    {
        ReadOnlySpan<byte> alphabet = "0123456789abcdef"u8;
        for (int i = 0; i < digest.Length; i++)
        {
            hex[2 * i] = alphabet[digest[i] >> 4];
            hex[(2 * i) + 1] = alphabet[digest[i] & 0xF];
        }
    }
}
