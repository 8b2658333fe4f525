using System.Globalization;
using System.Text.RegularExpressions;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>A Prometheus text-format scrape, parsed into samples (name, labels, value) for assertions.</summary>
internal sealed partial class PrometheusScrape
{
    private PrometheusScrape(string text, IReadOnlyList<Sample> samples)
    {
        Text = text;
        Samples = samples;
    }

    public string Text { get; }

    public IReadOnlyList<Sample> Samples { get; }

    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

    public static PrometheusScrape Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SampleLine().Match(line);
            if (!match.Success)
            {
                throw new FormatException("Not a Prometheus sample line: " + line);
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["key"].Value] = label.Groups["value"].Value;
            }

            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var v => double.Parse(v, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(match.Groups["name"].Value, labels, value));
        }

        return new PrometheusScrape(text, samples);
    }

    /// <summary>The samples named <paramref name="name"/> carrying every one of <paramref name="labels"/> ("key=value").</summary>
    public IReadOnlyList<Sample> Find(string name, params string[] labels)
        => Samples.Where(s => s.Name == name && labels.All(l =>
        {
            var eq = l.IndexOf('=', StringComparison.Ordinal);
            return s.Labels.TryGetValue(l[..eq], out var v) && v == l[(eq + 1)..];
        })).ToList();

    /// <summary>The value of the one sample named <paramref name="name"/> with <paramref name="labels"/>; fails if there is none or several.</summary>
    public double Value(string name, params string[] labels)
    {
        var found = Find(name, labels);
        return found.Count == 1
            ? found[0].Value
            : throw new Xunit.Sdk.XunitException($"{found.Count} samples of {name}{{{string.Join(',', labels)}}} in:\n{Text}");
    }

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(\\.|[^""\\])*)""")]
    private static partial Regex LabelPair();
}
