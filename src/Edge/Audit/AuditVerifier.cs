using System.Buffers;
using System.Text.Json;

namespace XksGrpc.Edge.Audit;

/// <summary>What kind of damage <see cref="AuditVerifier"/> found.</summary>
internal enum AuditProblemKind
{
    /// <summary>The last line has no final newline: a torn write, or the file was cut.</summary>
    Truncated,

    /// <summary>A line is not JSON (or is empty).</summary>
    InvalidJson,

    /// <summary>A line is JSON but not an audit record (missing, extra or misplaced members, wrong types).</summary>
    InvalidRecord,

    /// <summary>A record's content does not match its own hash: it was edited.</summary>
    EditedRecord,

    /// <summary>seq jumps forward, the file does not start at seq 1, or an anchored record is gone: records were removed.</summary>
    RemovedRecord,

    /// <summary>seq goes backwards or repeats: records were reordered or duplicated.</summary>
    ReorderedRecord,

    /// <summary>A record's prev is not the hash of the line before it (or not genesis for the first line).</summary>
    BrokenChain,
}

/// <summary>The first problem found: its 1-based line number, its kind, and an explanation.</summary>
internal sealed record AuditProblem(long Line, AuditProblemKind Kind, string Message)
{
    public override string ToString() => $"line {Line}: {Kind}: {Message}";
}

/// <summary>The result of verifying an audit log.</summary>
/// <param name="Records">Valid records read before the first problem (all of them when intact).</param>
/// <param name="LastSeq">The seq of the last valid record (0 if none).</param>
/// <param name="HeadHash">The chain hash of the last valid record (genesis if none).</param>
internal sealed record AuditVerification(bool Intact, long Records, long LastSeq, string HeadHash, AuditProblem? Problem);

/// <summary>
/// Verifies an audit log written by <see cref="AuditLog"/> (format: <see cref="AuditRecordFormat"/>), streaming
/// so that large files need no memory, and stops at the first problem.
/// </summary>
/// <remarks>
/// A hash chain proves that nothing inside it was changed, removed or reordered, and a torn last line shows.
/// It cannot prove that whole records were not cut from the END, nor stop someone rewriting the whole chain:
/// for that, keep the head (<see cref="AuditLog.HeadHash"/>, also printed by <c>audit verify</c>) somewhere
/// else now and then, and pass it as <c>anchorHash</c>: verification then fails unless that record is still
/// in the chain.
/// </remarks>
internal static class AuditVerifier
{
    private const int MaxLineBytes = 1 << 20;

    public static AuditVerification Verify(string path, string? anchorHash = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var checker = new Checker(anchorHash?.ToLowerInvariant());
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, FileOptions.SequentialScan);
        byte[] chunk = new byte[64 * 1024];
        var pending = new ArrayBufferWriter<byte>();
        int read;
        while ((read = stream.Read(chunk)) > 0)
        {
            ReadOnlySpan<byte> span = chunk.AsSpan(0, read);
            while (true)
            {
                int newline = span.IndexOf((byte)'\n');
                if (newline < 0)
                {
                    if (pending.WrittenCount + span.Length > MaxLineBytes)
                    {
                        return checker.Fail(AuditProblemKind.InvalidJson, $"line longer than {MaxLineBytes} bytes");
                    }

                    pending.Write(span);
                    break;
                }

                AuditProblem? problem;
                if (pending.WrittenCount > 0)
                {
                    pending.Write(span[..newline]);
                    problem = checker.Check(pending.WrittenSpan);
                    pending.ResetWrittenCount();
                }
                else
                {
                    problem = checker.Check(span[..newline]);
                }

                if (problem is not null)
                {
                    return checker.Result(problem);
                }

                span = span[(newline + 1)..];
            }
        }

        if (pending.WrittenCount > 0)
        {
            return checker.Fail(AuditProblemKind.Truncated, "the last line has no final newline: the file was truncated or a write was interrupted");
        }

        return checker.Finish();
    }

    private sealed class Checker(string? anchor)
    {
        private long _line;
        private long _records;
        private long _lastSeq;
        private string _prev = AuditRecordFormat.Genesis;
        private bool _anchorSeen;
        private AuditProblem? _gap;

        public AuditProblem? Check(ReadOnlySpan<byte> line)
        {
            _line++;
            if (_gap is not null)
            {
                return SearchMissing(line);
            }

            long seq;
            string? prev;
            try
            {
                if (!TryReadRecord(line, out seq, out prev, out string? shapeError))
                {
                    return Problem(AuditProblemKind.InvalidRecord, shapeError!);
                }
            }
            catch (JsonException ex)
            {
                return Problem(AuditProblemKind.InvalidJson, line.IsEmpty ? "empty line" : $"not JSON ({ex.Message.Split(". ")[0]})");
            }

            if (!AuditRecordFormat.HasValidSelfHash(line))
            {
                return Problem(AuditProblemKind.EditedRecord, $"record seq {seq} does not match its hash: it was edited");
            }

            long expected = _lastSeq + 1;
            if (seq > expected)
            {
                // Removed or moved later? Keep reading for the missing seq before deciding.
                _gap = Problem(
                    AuditProblemKind.RemovedRecord,
                    _records == 0
                        ? $"the log starts at seq {seq}, not 1: the first {seq - 1} record(s) were removed"
                        : $"seq jumps from {_lastSeq} to {seq}: {seq - expected} record(s) were removed before this line");
                return null;
            }

            if (seq < expected)
            {
                return Problem(AuditProblemKind.ReorderedRecord, $"seq {seq} follows seq {_lastSeq}: records were reordered or duplicated");
            }

            if (prev != _prev)
            {
                return Problem(
                    AuditProblemKind.BrokenChain,
                    _records == 0
                        ? "the first record's prev is not the genesis value (64 zeros)"
                        : "prev is not the hash of the previous line: the previous record was replaced");
            }

            _prev = AuditRecordFormat.LineHash(line);
            _lastSeq = seq;
            _records++;
            _anchorSeen |= anchor is not null && _prev == anchor;
            return null;
        }

        public AuditVerification Fail(AuditProblemKind kind, string message)
        {
            _line++;
            return Result(_gap ?? Problem(kind, message));
        }

        public AuditVerification Result(AuditProblem problem) => new(false, _records, _lastSeq, _prev, problem);

        public AuditVerification Finish()
        {
            if (_gap is not null)
            {
                return Result(_gap);
            }

            if (anchor is not null && !_anchorSeen)
            {
                return Result(new AuditProblem(
                    _line + 1,
                    AuditProblemKind.RemovedRecord,
                    $"the anchored record {anchor} is not in the chain: records were removed from the end (or the chain was rewritten)"));
            }

            return new AuditVerification(true, _records, _lastSeq, _prev, null);
        }

        private AuditProblem Problem(AuditProblemKind kind, string message) => new(_line, kind, message);

        /// <summary>After a seq gap: a later line holding the missing seq means the records were reordered.</summary>
        private AuditProblem? SearchMissing(ReadOnlySpan<byte> line)
        {
            long missing = _lastSeq + 1;
            try
            {
                var reader = new Utf8JsonReader(line);
                if (reader.Read() && reader.TokenType == JsonTokenType.StartObject
                    && reader.Read() && reader.ValueTextEquals("seq"u8)
                    && reader.Read() && reader.TryGetInt64(out long seq) && seq == missing)
                {
                    return new AuditProblem(_gap!.Line, AuditProblemKind.ReorderedRecord, $"seq {missing} was expected here but appears later, at line {_line}: records were reordered");
                }
            }
            catch (JsonException)
            {
                // Only looking for the missing seq; the gap is reported either way.
            }

            return null;
        }

        /// <summary>Parses a line as JSON (throwing on bad JSON) and checks the record's shape.</summary>
        private static bool TryReadRecord(ReadOnlySpan<byte> line, out long seq, out string? prev, out string? error)
        {
            seq = 0;
            prev = null;
            error = null;
            if (line.IsEmpty)
            {
                throw new JsonException("empty line");
            }

            using JsonDocument document = JsonDocument.Parse(line.ToArray());
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "not a JSON object";
                return false;
            }

            IReadOnlyList<string> fields = AuditRecordFormat.Fields;
            int index = 0;
            foreach (JsonProperty property in root.EnumerateObject())
            {
                if (index >= fields.Count || property.Name != fields[index])
                {
                    error = index < fields.Count
                        ? $"member \"{property.Name}\" where \"{fields[index]}\" was expected"
                        : $"unexpected member \"{property.Name}\" after \"hash\"";
                    return false;
                }

                JsonValueKind kind = property.Value.ValueKind;
                bool ok = property.Name switch
                {
                    "seq" => kind == JsonValueKind.Number && property.Value.TryGetInt64(out seq) && seq > 0,
                    "latencyMs" => kind == JsonValueKind.Number,
                    "time" or "api" or "outcome" => kind == JsonValueKind.String,
                    "prev" or "hash" => kind == JsonValueKind.String && AuditRecordFormat.IsHex64(property.Value.GetString()),
                    _ => kind is JsonValueKind.String or JsonValueKind.Null,
                };
                if (!ok)
                {
                    error = $"member \"{property.Name}\" has an invalid value";
                    return false;
                }

                if (property.Name == "prev")
                {
                    prev = property.Value.GetString();
                }

                index++;
            }

            if (index < fields.Count)
            {
                error = $"member \"{fields[index]}\" is missing";
                return false;
            }

            return true;
        }
    }
}
