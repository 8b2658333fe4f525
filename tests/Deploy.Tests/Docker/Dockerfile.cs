using System.Text.Json;

namespace XksGrpc.Deploy.Tests.Docker;

/// <summary>
/// A Dockerfile as build stages of instructions: comments dropped, backslash continuations joined,
/// exec-form (JSON array) arguments decoded.
/// </summary>
internal sealed class Dockerfile
{
    private Dockerfile(IReadOnlyList<Stage> stages) => Stages = stages;

    public IReadOnlyList<Stage> Stages { get; }

    public Stage Final => Stages[^1];

    public static Dockerfile Load(string relativePath)
    {
        var stages = new List<Stage>();
        var logical = new List<string>();
        var current = "";
        foreach (var raw in RepositoryRoot.ReadAllText(relativePath).Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (current.Length == 0 && line.TrimStart().StartsWith('#'))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                current += line[..^1] + " ";
                continue;
            }

            current += line;
            if (current.Trim().Length > 0)
            {
                logical.Add(current.Trim());
            }

            current = "";
        }

        foreach (var line in logical)
        {
            var space = line.IndexOf(' ');
            var keyword = (space < 0 ? line : line[..space]).ToUpperInvariant();
            var args = space < 0 ? "" : line[(space + 1)..].Trim();
            if (keyword == "FROM")
            {
                var parts = args.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                var name = parts.Length >= 3 && parts[^2].Equals("AS", StringComparison.OrdinalIgnoreCase) ? parts[^1] : null;
                stages.Add(new Stage(parts[0], name));
            }
            else
            {
                Assert.NotEmpty(stages);
                stages[^1].Instructions.Add(new Instruction(keyword, args));
            }
        }

        return new Dockerfile(stages);
    }

    internal sealed record Instruction(string Keyword, string Arguments)
    {
        /// <summary>Exec form ["a", "b"] as its items; shell form split on spaces.</summary>
        public IReadOnlyList<string> ExecForm => Arguments.StartsWith('[')
            ? JsonSerializer.Deserialize<string[]>(Arguments) ?? []
            : Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
    }

    internal sealed class Stage(string image, string? name)
    {
        public string Image { get; } = image;

        public string? Name { get; } = name;

        public List<Instruction> Instructions { get; } = [];

        public Instruction? Last(string keyword) => Instructions.LastOrDefault(i => i.Keyword == keyword);
    }
}
