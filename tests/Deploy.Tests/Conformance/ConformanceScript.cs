using System.Globalization;
using System.Text.RegularExpressions;
using XksGrpc.Deploy.Tests.Lab;

namespace XksGrpc.Deploy.Tests.Conformance;

/// <summary>scripts/conformance.sh run against a lab, as the README tells a user to run it.</summary>
internal static partial class ConformanceScript
{
    public sealed record Outcome(int ExitCode, int Passed, int Failed, string Output)
    {
        public IEnumerable<string> Lines => Output.Split('\n');

        public bool Passes(string caseName) => Lines.Any(l => l.StartsWith("PASS  ", StringComparison.Ordinal) && l.Contains(caseName, StringComparison.Ordinal));
    }

    /// <summary>Runs the script against <paramref name="lab"/>, reading the state from <paramref name="state"/> (default: the lab's).</summary>
    public static async Task<Outcome> RunAsync(LabProcess lab, string? state = null)
    {
        var result = await Shell.RunAsync("bash", [Path.Combine(RepositoryRoot.FullPath, "scripts/conformance.sh")],
            new Dictionary<string, string>
            {
                ["XKS_LAB_STATE"] = state ?? lab.State,
                ["XKS_LAB_PORT"] = lab.Port.ToString(CultureInfo.InvariantCulture),
                ["XKS_LAB_MTLS"] = lab.Mtls ? "1" : "0",
                ["CONFORMANCE_VERBOSE"] = "1",
            },
            TimeSpan.FromMinutes(12));
        var output = result.StdOut + result.StdErr;
        var summary = Summary().Match(output);
        Assert.True(summary.Success, $"no summary line (exit {result.ExitCode}):\n{output}");
        return new Outcome(result.ExitCode,
            int.Parse(summary.Groups[1].Value, CultureInfo.InvariantCulture),
            int.Parse(summary.Groups[2].Value, CultureInfo.InvariantCulture),
            output);
    }

    [GeneratedRegex(@"^Conformance: (\d+) passed, (\d+) failed$", RegexOptions.Multiline)]
    private static partial Regex Summary();
}
