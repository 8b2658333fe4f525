using System.Text.RegularExpressions;

namespace XksGrpc.Deploy.Tests.Lab;

/// <summary>
/// The scripts' guard against bash 5.2's trap bug (scripts/lib/common.sh, xks_read): after a command
/// substitution, above all <c>$(&lt;FILE)</c>, a trap can run with the parser still inside it, its
/// text fails to parse and a SIGTERM ends lab.sh with status 2 (a CI run saw it once). lab.sh runs no
/// command substitution once its traps are set, and no script reads a file with <c>$(&lt;FILE)</c>.
/// </summary>
public sealed partial class ShellSignalSafetyTests
{
    [Fact]
    public void NoScript_ReadsAFileByCommandSubstitution()
    {
        var scripts = Directory.GetFiles(Path.Combine(RepositoryRoot.FullPath, "scripts"), "*.sh", SearchOption.AllDirectories);
        Assert.Contains(scripts, s => s.EndsWith("lab.sh", StringComparison.Ordinal));
        foreach (var script in scripts)
        {
            var offending = Code(File.ReadAllLines(script)).Where(l => FileSubstitution().IsMatch(l.Text)).ToList();
            Assert.True(offending.Count == 0, $"{script}: {string.Join("; ", offending.Select(l => $"line {l.Number}: {l.Text.Trim()}"))}");
        }
    }

    [Fact]
    public void LabSh_RunsNoCommandOrProcessSubstitution_OnceItsSignalTrapIsSet()
    {
        // Everything that can run after the trap (the processes, the supervision, the warm-up and the
        // functions they call) is in the last section of lab.sh, which starts before the trap is set.
        var script = File.ReadAllLines(RepositoryRoot.File("scripts/lab.sh"));
        var lines = Code(script).ToList();
        var section = Array.IndexOf(script, "# Processes and supervision") + 1;
        var trap = lines.Find(l => l.Text == "trap 'exit 0' INT TERM HUP");
        Assert.True(section > 0, "lab.sh has no '# Processes and supervision' section");
        Assert.True(trap is not null && trap.Number > section, "lab.sh sets its INT/TERM/HUP trap outside that section");

        var offending = lines.Where(l => l.Number > section && Substitution().IsMatch(l.Text)).ToList();
        Assert.True(offending.Count == 0, string.Join("; ", offending.Select(l => $"line {l.Number}: {l.Text.Trim()}")));
    }

    [Theory]
    [InlineData("AKIDWITHOUTNEWLINE", "AKIDWITHOUTNEWLINE")]
    [InlineData("first line\n", "first line")]
    [InlineData("first\nsecond\n", "first")]
    [InlineData("  spaced \\n  \n", "  spaced \\n  ")]
    public async Task XksRead_ReadsTheFirstLine_WithOrWithoutAFinalNewline(string content, string expected)
    {
        var file = Path.GetTempFileName();
        try
        {
            await File.WriteAllTextAsync(file, content);
            var (exitCode, output) = await RunBashAsync($"xks_read v \"$1\" && printf '<%s>' \"$v\"", file);
            Assert.Equal(0, exitCode);
            Assert.Equal($"<{expected}>", output);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task XksRead_FailsOnAMissingOrEmptyFile()
    {
        var empty = Path.GetTempFileName();
        try
        {
            Assert.NotEqual(0, (await RunBashAsync("xks_read v \"$1\" 2>/dev/null", empty + ".missing")).ExitCode);
            Assert.NotEqual(0, (await RunBashAsync("xks_read v \"$1\"", empty)).ExitCode);
        }
        finally
        {
            File.Delete(empty);
        }
    }

    private static IEnumerable<Line> Code(string[] lines) =>
        lines.Select((text, i) => new Line(i + 1, text)).Where(l => !l.Text.TrimStart().StartsWith('#'));

    private static async Task<(int ExitCode, string Output)> RunBashAsync(string script, string argument)
    {
        var result = await Shell.RunAsync("bash", "-c", $"set -euo pipefail; source \"$0\"; {script}", RepositoryRoot.File("scripts/lib/common.sh"), argument);
        return (result.ExitCode, result.StdOut);
    }

    private sealed record Line(int Number, string Text);

    [GeneratedRegex(@"\$\(\s*<")]
    private static partial Regex FileSubstitution();

    [GeneratedRegex(@"\$\((?!\()|[<>]\(|`")]
    private static partial Regex Substitution();
}
