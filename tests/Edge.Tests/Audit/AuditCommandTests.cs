using XksGrpc.Edge.Audit;
using static XksGrpc.Edge.Tests.Audit.AuditTestData;

namespace XksGrpc.Edge.Tests.Audit;

public sealed class AuditCommandTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("xks-audit-cli-").FullName;
    private readonly StringWriter _out = new();
    private readonly StringWriter _err = new();

    private string LogPath => Path.Combine(_dir, "audit.log");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Fact]
    public async Task Verify_OnAnIntactLog_ExitsZero()
    {
        await WriteLog(LogPath, 3);

        Assert.Equal(0, AuditCommand.Run(["audit", "verify", "--file", LogPath], _out, _err));
        Assert.Contains("OK: ", _out.ToString(), StringComparison.Ordinal);
        Assert.Contains("3 records intact", _out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_OnATamperedLog_ExitsOneAndNamesTheLineAndKind()
    {
        string[] lines = await WriteLog(LogPath, 3);
        lines[1] = lines[1].Replace("\"foo\"", "\"bar\"", StringComparison.Ordinal);
        WriteLines(LogPath, lines);

        Assert.Equal(1, AuditCommand.Run(["verify", "--file", LogPath], _out, _err));
        Assert.Contains("TAMPERED: ", _out.ToString(), StringComparison.Ordinal);
        Assert.Contains("line 2: EditedRecord", _out.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Verify_WithAnAnchorNoLongerInTheLog_ExitsOne()
    {
        string[] lines = await WriteLog(LogPath, 3);
        string anchor = AuditRecordFormat.LineHash(System.Text.Encoding.UTF8.GetBytes(lines[2]));
        WriteLines(LogPath, lines.Take(2));

        Assert.Equal(1, AuditCommand.Run(["verify", "--file", LogPath, "--anchor", anchor], _out, _err));
        Assert.Contains("RemovedRecord", _out.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData]
    [InlineData("audit")]
    [InlineData("check", "--file", "x")]
    [InlineData("verify")]
    [InlineData("verify", "--file")]
    [InlineData("verify", "--file", "x", "--anchor", "nothex")]
    [InlineData("verify", "--file", "/nonexistent/audit.log")]
    public void Run_WithBadArgumentsOrNoFile_ExitsTwo(params string[] args)
    {
        Assert.Equal(2, AuditCommand.Run(args, _out, _err));
        Assert.NotEmpty(_err.ToString());
    }
}
