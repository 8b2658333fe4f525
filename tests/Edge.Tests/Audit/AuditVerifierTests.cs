using System.Buffers;
using System.Text;
using XksGrpc.Edge.Audit;
using static XksGrpc.Edge.Tests.Audit.AuditTestData;

namespace XksGrpc.Edge.Tests.Audit;

public sealed class AuditVerifierTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xks-audit-verify-").FullName;

    private string LogPath => Path.Combine(_dir, "audit.log");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Verify_OnAnUntouchedLog_IsIntactAndReportsTheHead()
    {
        string head;
        await using (AuditLog log = AuditLog.Open(LogPath))
        {
            for (int i = 1; i <= 5; i++)
            {
                await log.AppendAsync(Event(i));
            }

            await log.FlushAsync();
            head = log.HeadHash;
        }

        AuditVerification result = AuditVerifier.Verify(LogPath);

        Assert.True(result.Intact);
        Assert.Null(result.Problem);
        Assert.Equal(5, result.Records);
        Assert.Equal(5, result.LastSeq);
        Assert.Equal(head, result.HeadHash);
    }

    [Fact]
    public void Verify_OnAnEmptyLog_IsIntact()
    {
        File.WriteAllText(LogPath, string.Empty);

        AuditVerification result = AuditVerifier.Verify(LogPath);

        Assert.True(result.Intact);
        Assert.Equal(AuditRecordFormat.Genesis, result.HeadHash);
    }

    [Fact]
    public async Task Verify_AnEditedField_IsEditedRecordAtThatLine()
    {
        string[] lines = await WriteLog(LogPath, 4);
        lines[1] = lines[1].Replace("\"outcome\":\"ok\"", "\"outcome\":\"AccessDeniedException\"", StringComparison.Ordinal);
        WriteLines(LogPath, lines);

        AssertProblem(AuditProblemKind.EditedRecord, 2);
    }

    [Fact]
    public async Task Verify_AnEditedHash_IsEditedRecordAtThatLine()
    {
        string[] lines = await WriteLog(LogPath, 3);
        char last = lines[2][^3];
        lines[2] = lines[2][..^3] + (last == 'a' ? 'b' : 'a') + "\"}";
        WriteLines(LogPath, lines);

        AssertProblem(AuditProblemKind.EditedRecord, 3);
    }

    [Fact]
    public async Task Verify_ARemovedMiddleRecord_IsRemovedRecordWhereTheGapShows()
    {
        string[] lines = await WriteLog(LogPath, 5);
        WriteLines(LogPath, lines.Where((_, i) => i != 2));

        AuditProblem problem = AssertProblem(AuditProblemKind.RemovedRecord, 3);
        Assert.Contains("seq jumps from 2 to 4", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_RemovedFirstRecords_IsRemovedRecordAtLineOne()
    {
        string[] lines = await WriteLog(LogPath, 4);
        WriteLines(LogPath, lines.Skip(2));

        AuditProblem problem = AssertProblem(AuditProblemKind.RemovedRecord, 1);
        Assert.Contains("starts at seq 3", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_SwappedRecords_IsReorderedRecordAtTheFirstMovedLine()
    {
        string[] lines = await WriteLog(LogPath, 5);
        (lines[1], lines[2]) = (lines[2], lines[1]);
        WriteLines(LogPath, lines);

        AuditProblem problem = AssertProblem(AuditProblemKind.ReorderedRecord, 2);
        Assert.Contains("appears later, at line 3", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_ADuplicatedRecord_IsReorderedRecord()
    {
        string[] lines = await WriteLog(LogPath, 3);
        WriteLines(LogPath, [lines[0], lines[1], lines[1], lines[2]]);

        AssertProblem(AuditProblemKind.ReorderedRecord, 3);
    }

    [Fact]
    public async Task Verify_AReplacedRecordWithAValidOwnHash_BreaksTheChainAtTheNextLine()
    {
        string[] lines = await WriteLog(LogPath, 4);
        lines[1] = Forge(seq: 2, prev: AuditRecordFormat.LineHash(Encoding.UTF8.GetBytes(lines[0])), Event(99, api: "Decrypt"));
        WriteLines(LogPath, lines);

        AuditProblem problem = AssertProblem(AuditProblemKind.BrokenChain, 3);
        Assert.Contains("previous record was replaced", problem.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_AFirstRecordNotChainedToGenesis_IsBrokenChain()
    {
        await WriteLog(LogPath, 1);
        WriteLines(LogPath, [Forge(seq: 1, prev: new string('f', 64), Event())]);

        AssertProblem(AuditProblemKind.BrokenChain, 1);
    }

    [Fact]
    public async Task Verify_ACutLastLine_IsTruncatedAtThatLine()
    {
        await WriteLog(LogPath, 3);
        byte[] bytes = File.ReadAllBytes(LogPath);
        File.WriteAllBytes(LogPath, bytes[..^40]);

        AuditVerification result = AuditVerifier.Verify(LogPath);

        Assert.Equal(AuditProblemKind.Truncated, result.Problem!.Kind);
        Assert.Equal(3, result.Problem.Line);
        Assert.Equal(2, result.Records);
    }

    [Fact]
    public async Task Verify_AMissingFinalNewline_IsTruncated()
    {
        await WriteLog(LogPath, 2);
        byte[] bytes = File.ReadAllBytes(LogPath);
        File.WriteAllBytes(LogPath, bytes[..^1]);

        AssertProblem(AuditProblemKind.Truncated, 2);
    }

    [Fact]
    public async Task Verify_ALineThatIsNotJson_IsInvalidJson()
    {
        string[] lines = await WriteLog(LogPath, 3);
        WriteLines(LogPath, [lines[0], "{\"seq\":2,", lines[1], lines[2]]);

        AssertProblem(AuditProblemKind.InvalidJson, 2);
    }

    [Fact]
    public async Task Verify_AnEmptyLine_IsInvalidJson()
    {
        string[] lines = await WriteLog(LogPath, 2);
        WriteLines(LogPath, [lines[0], string.Empty, lines[1]]);

        AssertProblem(AuditProblemKind.InvalidJson, 2);
    }

    [Theory]
    [InlineData("\"latencyMs\":", "\"plaintext\":\"SGVsbG8=\",\"latencyMs\":")]
    [InlineData("\"keyId\":\"foo\",", "")]
    [InlineData("{\"seq\":1,", "{\"seq\":\"1\",")]
    public async Task Verify_ARecordOfTheWrongShape_IsInvalidRecord(string find, string replace)
    {
        string[] lines = await WriteLog(LogPath, 2);
        lines[0] = lines[0].Replace(find, replace, StringComparison.Ordinal);
        WriteLines(LogPath, lines);

        AssertProblem(AuditProblemKind.InvalidRecord, 1);
    }

    [Fact]
    public async Task Verify_RecordsCutFromTheEnd_AreCaughtOnlyAgainstAnAnchor()
    {
        string[] lines = await WriteLog(LogPath, 5);
        string anchor = AuditRecordFormat.LineHash(Encoding.UTF8.GetBytes(lines[4]));
        WriteLines(LogPath, lines.Take(3));

        Assert.True(AuditVerifier.Verify(LogPath).Intact); // a chain alone cannot see a clean cut at the end
        AuditVerification anchored = AuditVerifier.Verify(LogPath, anchor);
        Assert.False(anchored.Intact);
        Assert.Equal(AuditProblemKind.RemovedRecord, anchored.Problem!.Kind);
        Assert.Equal(4, anchored.Problem.Line);
        Assert.True(AuditVerifier.Verify(LogPath, AuditRecordFormat.LineHash(Encoding.UTF8.GetBytes(lines[1]))).Intact);
    }

    [Fact]
    public async Task Verify_ALogLargerThanTheReadBuffer_IsIntact()
    {
        await WriteLog(LogPath, 600); // ~ 300 KB: lines straddle the 64 KB chunks

        AuditVerification result = AuditVerifier.Verify(LogPath);

        Assert.True(result.Intact, result.Problem?.ToString());
        Assert.Equal(600, result.Records);
    }

    private AuditProblem AssertProblem(AuditProblemKind kind, long line)
    {
        AuditVerification result = AuditVerifier.Verify(LogPath);
        Assert.False(result.Intact);
        Assert.NotNull(result.Problem);
        Assert.Equal((kind, line), (result.Problem.Kind, result.Problem.Line));
        return result.Problem;
    }

    /// <summary>What an attacker who knows the format can produce: a record with a correct self-hash.</summary>
    private static string Forge(long seq, string prev, AuditEvent e)
    {
        var buffer = new ArrayBufferWriter<byte>();
        AuditRecordFormat.Write(buffer, seq, DateTimeOffset.UtcNow, e, prev);
        return Encoding.UTF8.GetString(buffer.WrittenSpan).TrimEnd('\n');
    }
}
