namespace XksGrpc.Deploy.Tests.Systemd;

/// <summary>
/// A systemd unit file as systemd reads it: sections of assignments, comments dropped, continuation
/// lines joined, a key may repeat (list settings accumulate; an empty assignment resets the list).
/// </summary>
internal sealed class UnitFile
{
    private readonly Dictionary<string, List<(string Key, string Value)>> _sections = new(StringComparer.Ordinal);

    public static UnitFile Load(string relativePath)
    {
        var unit = new UnitFile();
        List<(string, string)>? section = null;
        var pending = "";
        foreach (var raw in RepositoryRoot.ReadAllText(relativePath).Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (pending.Length == 0 && (line.TrimStart().StartsWith('#') || line.TrimStart().StartsWith(';')))
            {
                continue;
            }

            if (line.EndsWith('\\'))
            {
                pending += line[..^1] + " ";
                continue;
            }

            line = (pending + line).Trim();
            pending = "";
            if (line.Length == 0)
            {
                continue;
            }

            if (line.StartsWith('[') && line.EndsWith(']'))
            {
                section = [];
                unit._sections[line[1..^1]] = section;
                continue;
            }

            var eq = line.IndexOf('=');
            Assert.True(section is not null && eq > 0, $"{relativePath}: not an assignment inside a section: {line}");
            section.Add((line[..eq].Trim(), line[(eq + 1)..].Trim()));
        }

        return unit;
    }

    public bool HasSection(string name) => _sections.ContainsKey(name);

    /// <summary>Every assignment of a key in order (a list setting's history).</summary>
    public IReadOnlyList<string> All(string section, string key) =>
        _sections.TryGetValue(section, out var entries) ? entries.Where(e => e.Key == key).Select(e => e.Value).ToList() : [];

    /// <summary>The effective value of a single-valued setting: the last assignment wins.</summary>
    public string? Value(string section, string key) => All(section, key).LastOrDefault();

    /// <summary>The effective items of a list setting: space-separated items accumulated since the last empty assignment.</summary>
    public IReadOnlyList<string> List(string section, string key)
    {
        var items = new List<string>();
        foreach (var value in All(section, key))
        {
            if (value.Length == 0)
            {
                items.Clear();
            }
            else
            {
                items.AddRange(value.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            }
        }

        return items;
    }
}
