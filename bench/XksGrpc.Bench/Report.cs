using System.Globalization;
using System.Text;
using System.Text.Json;
using XksGrpc.Bench.Load;

namespace XksGrpc.Bench;

/// <summary>Renders results: a human table, a markdown table, JSON.</summary>
internal static class Report
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Ms(long micros) => micros < 0 ? "-" : (micros / 1000.0).ToString(micros < 10_000 ? "0.00" : micros < 100_000 ? "0.0" : "0", Inv) + "ms";

    public static string Mb(long bytes) => bytes < 0 ? "-" : (bytes / (1024.0 * 1024.0)).ToString("0", Inv) + "MB";

    private static string Pct(RunResult r, double p) => r.Latency.TotalCount == 0 ? "-" : Ms(r.Latency.PercentileMicros(p));

    public static string Machine()
    {
        string cpu = "unknown CPU";
        try
        {
            string? line = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal));
            if (line is not null)
            {
                cpu = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..].Trim();
            }
        }
        catch (IOException)
        {
        }

        return $"{cpu}, {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}";
    }

    private static string[] Header(bool withBaseline) =>
        withBaseline
            ? ["target", "scenario", "load", "time", "ok", "req/s", "p50", "p90", "p99", "p99.9", "max", "errors", "of baseline"]
            : ["target", "scenario", "load", "time", "ok", "req/s", "p50", "p90", "p99", "p99.9", "max", "errors"];

    private static string[] Row(RunResult r, RunResult? baseline)
    {
        var row = new List<string>
        {
            r.Target,
            r.Spec.Scenario,
            r.Spec.Load,
            r.Seconds.ToString("0.#", Inv) + "s",
            r.Ok.ToString("N0", Inv),
            r.RequestsPerSecond.ToString("N0", Inv),
            Pct(r, 50),
            Pct(r, 90),
            Pct(r, 99),
            Pct(r, 99.9),
            r.Latency.TotalCount == 0 ? "-" : Ms(r.Latency.MaxMicros),
            r.ErrorCount.ToString("N0", Inv),
        };
        if (baseline is not null)
        {
            row.Add(ReferenceEquals(r, baseline) || r.Spec.OpenLoop || baseline.RequestsPerSecond <= 0
                ? "-"
                : (100 * r.RequestsPerSecond / baseline.RequestsPerSecond).ToString("0.0", Inv) + "%");
        }

        return [.. row];
    }

    public static string Text(IReadOnlyList<RunResult> results, RunResult? baseline, string description)
    {
        var sb = new StringBuilder();
        sb.AppendLine(description);
        string[][] rows = [Header(baseline is not null), .. results.Select(r => Row(r, baseline))];
        int[] widths = Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(r => r[c].Length)).ToArray();
        foreach (string[] row in rows)
        {
            for (int c = 0; c < row.Length; c++)
            {
                // Text columns left-aligned, numbers right-aligned.
                sb.Append(c < 3 ? row[c].PadRight(widths[c]) : row[c].PadLeft(widths[c])).Append("  ");
            }

            sb.Length -= 2;
            sb.AppendLine();
        }

        AppendDetails(sb, results, baseline, markdown: false);
        return sb.ToString();
    }

    public static string Markdown(IReadOnlyList<RunResult> results, RunResult? baseline, string description)
    {
        var sb = new StringBuilder();
        sb.AppendLine(description).AppendLine();
        string[] header = Header(baseline is not null);
        sb.Append("| ").Append(string.Join(" | ", header)).AppendLine(" |");
        sb.Append('|').Append(string.Join('|', header.Select((_, c) => c < 3 ? " --- " : " ---: "))).AppendLine("|");
        foreach (RunResult r in results)
        {
            sb.Append("| ").Append(string.Join(" | ", Row(r, baseline))).AppendLine(" |");
        }

        AppendDetails(sb, results, baseline, markdown: true);
        return sb.ToString();
    }

    private static void AppendDetails(StringBuilder sb, IReadOnlyList<RunResult> results, RunResult? baseline, bool markdown)
    {
        string bullet = markdown ? "- " : "  ";
        sb.AppendLine();
        if (baseline is not null)
        {
            foreach (RunResult r in results.Where(r => !ReferenceEquals(r, baseline) && !r.Spec.OpenLoop))
            {
                sb.Append(bullet).AppendLine(string.Create(Inv,
                    $"{r.Spec.Scenario}: {r.RequestsPerSecond:N0} req/s = {100 * r.RequestsPerSecond / Math.Max(1, baseline.RequestsPerSecond):0.0}% of baseline {baseline.RequestsPerSecond:N0} req/s ({baseline.Spec.Scenario} bodies, {baseline.Spec.Load})"));
            }
        }

        foreach (RunResult r in results.Where(r => r.Spec.OpenLoop))
        {
            sb.Append(bullet).AppendLine(string.Create(Inv,
                $"{r.Target} {r.Spec.Scenario} at {r.Spec.Load}: latency measured from each request's intended send time; generator sent {r.LateSends:N0} requests > 1 ms late (max lag {Ms(r.MaxSendLagMicros)})"));
        }

        foreach (RunResult r in results.Where(r => r.ByOperation is not null))
        {
            sb.Append(bullet).AppendLine(string.Create(Inv, $"{r.Target} {r.Spec.Scenario} {r.Spec.Load} by operation: ") + string.Join("; ", r.ByOperation!.Select(kv => string.Create(Inv,
                $"{kv.Key} {kv.Value.TotalCount:N0} ok, p50 {Ms(kv.Value.PercentileMicros(50))} p99 {Ms(kv.Value.PercentileMicros(99))} p99.9 {Ms(kv.Value.PercentileMicros(99.9))}"))));
        }

        sb.Append(bullet).AppendLine("generator CPU (cores busy, of " + Environment.ProcessorCount.ToString(Inv) + "): " + string.Join(", ", results.Select(r => string.Create(Inv, $"{r.Target} {r.Spec.Scenario} {r.GeneratorCores:0.00} ({r.GeneratorCores * 1e6 / Math.Max(1, r.RequestsPerSecond + (r.ErrorCount / r.Seconds)):0} µs/request)"))));

        foreach (RunResult r in results.Where(r => r.ErrorCount > 0))
        {
            sb.Append(bullet).AppendLine($"errors, {r.Target} {r.Spec.Scenario} {r.Spec.Load} (whole run incl. warm-up):");
            foreach ((string key, long count) in r.Errors)
            {
                sb.Append(markdown ? "  - " : "      ").AppendLine(string.Create(Inv, $"{count:N0} × {key}"));
            }
        }

        RunResult[] withMemory = results.Where(r => r.Memory is not null).ToArray();
        if (withMemory.Length > 0 && MemoryNames is { Count: > 0 } names)
        {
            sb.AppendLine();
            if (markdown)
            {
                sb.Append("| run | ").Append(string.Join(" | ", names.Select(n => $"{n} VmRSS before → peak → after"))).AppendLine(" |");
                sb.Append("| --- |").Append(string.Concat(names.Select(_ => " ---: |"))).AppendLine();
            }
            else
            {
                sb.AppendLine("working set (VmRSS before → peak sample → after):");
            }

            foreach (RunResult r in withMemory)
            {
                MemoryTraceText(sb, r, names, markdown);
            }
        }
    }

    /// <summary>Names of the processes whose memory is sampled (set by Program).</summary>
    public static IReadOnlyList<string>? MemoryNames { get; set; }

    private static void MemoryTraceText(StringBuilder sb, RunResult r, IReadOnlyList<string> names, bool markdown)
    {
        var m = r.Memory!;
        IEnumerable<string> cells = names.Select((_, i) => $"{Mb(m.Before[i])} → {Mb(m.Peak[i])} → {Mb(m.After[i])}");
        if (markdown)
        {
            sb.Append($"| {r.Target} {r.Spec.Scenario} {r.Spec.Load} | ").Append(string.Join(" | ", cells)).AppendLine(" |");
        }
        else
        {
            sb.Append($"  {r.Target} {r.Spec.Scenario} {r.Spec.Load}: ").AppendLine(string.Join("   ", names.Select((n, i) => $"{n} {cells.ElementAt(i)}")));
        }
    }

    public static void Json(string file, IReadOnlyList<RunResult> results, RunResult? baseline, string description)
    {
        using FileStream stream = File.Create(file);
        using var w = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true });
        w.WriteStartObject();
        w.WriteString("description", description);
        w.WriteString("machine", Machine());
        w.WriteString("time", DateTime.UtcNow.ToString("O", Inv));
        w.WriteStartArray("runs");
        foreach (RunResult r in results)
        {
            w.WriteStartObject();
            w.WriteString("target", r.Target);
            w.WriteString("scenario", r.Spec.Scenario);
            w.WriteString("mode", r.Spec.OpenLoop ? "open" : "closed");
            if (r.Spec.OpenLoop)
            {
                w.WriteNumber("rate", r.Spec.Rate);
                w.WriteNumber("maxSendLagMicros", r.MaxSendLagMicros);
                w.WriteNumber("lateSends", r.LateSends);
            }

            w.WriteNumber("connections", r.Spec.Connections);
            w.WriteNumber("generatorCores", Math.Round(r.GeneratorCores, 2));
            w.WriteNumber("seconds", r.Seconds);
            w.WriteNumber("ok", r.Ok);
            w.WriteNumber("requestsPerSecond", Math.Round(r.RequestsPerSecond, 1));
            if (baseline is not null && !ReferenceEquals(r, baseline) && !r.Spec.OpenLoop && baseline.RequestsPerSecond > 0)
            {
                w.WriteNumber("shareOfBaseline", Math.Round(r.RequestsPerSecond / baseline.RequestsPerSecond, 4));
            }

            w.WriteStartObject("latencyMicros");
            w.WriteNumber("p50", r.Latency.PercentileMicros(50));
            w.WriteNumber("p90", r.Latency.PercentileMicros(90));
            w.WriteNumber("p99", r.Latency.PercentileMicros(99));
            w.WriteNumber("p99.9", r.Latency.PercentileMicros(99.9));
            w.WriteNumber("max", r.Latency.MaxMicros);
            w.WriteEndObject();
            w.WriteStartObject("errors");
            foreach ((string key, long count) in r.Errors)
            {
                w.WriteNumber(key, count);
            }

            w.WriteEndObject();
            if (r.Memory is { } m && MemoryNames is { } names)
            {
                w.WriteStartObject("workingSetBytes");
                for (int i = 0; i < names.Count; i++)
                {
                    w.WriteStartObject(names[i]);
                    w.WriteNumber("before", m.Before[i]);
                    w.WriteNumber("peak", m.Peak[i]);
                    w.WriteNumber("after", m.After[i]);
                    w.WriteEndObject();
                }

                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        w.WriteEndObject();
    }
}
