namespace XksGrpc.Edge.Audit;

/// <summary>
/// The <c>audit</c> admin command (issue 5: "a verify command detects an edited, removed, reordered or
/// truncated record and says where"):
/// <code>audit verify --file &lt;audit.log&gt; [--anchor &lt;head hash noted earlier&gt;]</code>
/// Exit codes: 0 intact; 1 damaged (the first problem's line and kind are printed); 2 usage error or
/// unreadable file. The leading word <c>audit</c> in <c>args</c> is optional.
/// </summary>
internal static class AuditCommand
{
    public const int Intact = 0;
    public const int Damaged = 1;
    public const int UsageError = 2;

    private const string Usage = "usage: audit verify --file <audit.log> [--anchor <sha256 head hash>]";

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        var rest = args.AsSpan();
        if (rest.Length > 0 && rest[0] == "audit")
        {
            rest = rest[1..];
        }

        if (rest.Length == 0 || rest[0] != "verify")
        {
            stderr.WriteLine(Usage);
            return UsageError;
        }

        string? file = null;
        string? anchor = null;
        for (int i = 1; i < rest.Length; i++)
        {
            switch (rest[i])
            {
                case "--file" when i + 1 < rest.Length:
                    file = rest[++i];
                    break;
                case "--anchor" when i + 1 < rest.Length:
                    anchor = rest[++i];
                    break;
                default:
                    stderr.WriteLine($"unexpected argument \"{rest[i]}\"\n{Usage}");
                    return UsageError;
            }
        }

        if (string.IsNullOrEmpty(file))
        {
            stderr.WriteLine($"--file is required\n{Usage}");
            return UsageError;
        }

        if (anchor is not null && !AuditRecordFormat.IsHex64(anchor.ToLowerInvariant()))
        {
            stderr.WriteLine("--anchor must be a 64-digit hex SHA-256");
            return UsageError;
        }

        AuditVerification result;
        try
        {
            result = AuditVerifier.Verify(file, anchor);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"{file}: cannot read: {ex.Message}");
            return UsageError;
        }

        if (result.Intact)
        {
            stdout.WriteLine($"OK: {file}: {result.Records} records intact (last seq {result.LastSeq}); head {result.HeadHash}");
            return Intact;
        }

        stdout.WriteLine($"TAMPERED: {file}: {result.Problem}");
        stdout.WriteLine($"  {result.Records} records verified before it (last good seq {result.LastSeq})");
        return Damaged;
    }
}
