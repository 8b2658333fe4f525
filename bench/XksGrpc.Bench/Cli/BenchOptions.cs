using System.Globalization;

namespace XksGrpc.Bench.Cli;

/// <summary>What to load: a scenario, closed loop at a concurrency or open loop at a rate, for a duration.</summary>
internal sealed record RunSpec(string Scenario, int Connections, double Rate, TimeSpan Duration)
{
    public bool OpenLoop => Rate > 0;

    public string Load => OpenLoop ? $"{Rate.ToString("0.##", CultureInfo.InvariantCulture)} rps" : $"c{Connections}";

    /// <summary>Parses <c>scenario[:cN|:rN][:Ns|:Nm]</c>, e.g. <c>encrypt-cdiv:c32:15s</c> or <c>decrypt:r1800:60s</c>.</summary>
    public static RunSpec Parse(string text, RunSpec defaults)
    {
        string[] parts = text.Split(':', StringSplitOptions.TrimEntries);
        var spec = defaults with { Scenario = parts[0] };
        foreach (string part in parts.Skip(1))
        {
            if (part.Length > 1 && part[0] == 'c' && int.TryParse(part.AsSpan(1), NumberStyles.None, CultureInfo.InvariantCulture, out int c) && c > 0)
            {
                spec = spec with { Connections = c, Rate = 0 };
            }
            else if (part.Length > 1 && part[0] == 'r' && double.TryParse(part.AsSpan(1), NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && r > 0)
            {
                spec = spec with { Rate = r };
            }
            else
            {
                spec = spec with { Duration = BenchOptions.ParseDuration(part, "--run") };
            }
        }

        return spec;
    }
}

/// <summary>Command-line options of the load generator. Defaults target the lab (../shared/CONTRACT.md).</summary>
internal sealed class BenchOptions
{
    public string? Endpoint { get; set; }

    public string StateDir { get; set; } = Environment.GetEnvironmentVariable("XKS_LAB_STATE") is { Length: > 0 } s ? s : "lab/state";

    public string? KmsFile { get; set; }

    public string? CaFile { get; set; }

    public string? ClientCertFile { get; set; }

    public string? ClientKeyFile { get; set; }

    public string? UriPath { get; set; }

    public string? AccessKeyId { get; set; }

    public string? SecretAccessKey { get; set; }

    public string Key { get; set; } = "foo";

    public string Region { get; set; } = "us-east-1";

    public List<RunSpec> Runs { get; } = [];

    public int Connections { get; set; } = 32;

    public double Rate { get; set; }

    public TimeSpan Duration { get; set; } = TimeSpan.FromSeconds(10);

    public TimeSpan Warmup { get; set; } = TimeSpan.FromSeconds(2);

    public List<string> ScenarioNames { get; } = [];

    public bool Baseline { get; set; }

    public bool BaselineOnly { get; set; }

    public string? BaselineScenario { get; set; }

    public TimeSpan? BaselineDuration { get; set; }

    public string BaselineGc { get; set; } = "workstation";

    public bool Http2 { get; set; }

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(5);

    public int PoolSize { get; set; } = 512;

    public int MaxInFlight { get; set; } = 20_000;

    public bool Markdown { get; set; }

    public string? JsonFile { get; set; }

    public bool Quiet { get; set; }

    public List<(string Name, string PidFile)> RssPidFiles { get; } = [];

    public TimeSpan ResignAfter { get; set; } = TimeSpan.FromMinutes(4);

    public RunSpec Defaults => new("encrypt-cdiv", Connections, Rate, Duration);

    /// <summary>The runs to perform against the target (not counting the baseline).</summary>
    public IReadOnlyList<RunSpec> EffectiveRuns()
    {
        if (Runs.Count > 0)
        {
            return Runs;
        }

        IEnumerable<string> scenarios = ScenarioNames.Count > 0 ? ScenarioNames : ["encrypt-cdiv"];
        return scenarios.Select(s => Defaults with { Scenario = s }).ToList();
    }

    public static TimeSpan ParseDuration(string text, string option)
    {
        text = text.Trim();
        double factor = 1;
        if (text.EndsWith("ms", StringComparison.Ordinal))
        {
            factor = 0.001;
            text = text[..^2];
        }
        else if (text.EndsWith('s'))
        {
            text = text[..^1];
        }
        else if (text.EndsWith('m'))
        {
            factor = 60;
            text = text[..^1];
        }

        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || v < 0)
        {
            throw new UsageException($"{option}: '{text}' is not a duration (e.g. 15, 15s, 1m, 500ms)");
        }

        return TimeSpan.FromSeconds(v * factor);
    }

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions();
        var pendingRuns = new List<string>();
        for (int i = 0; i < args.Length; i++)
        {
            string a = args[i];
            string Next()
            {
                if (i + 1 >= args.Length)
                {
                    throw new UsageException($"{a} needs a value");
                }

                return args[++i];
            }

            int NextInt()
            {
                string v = Next();
                return int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out int n) && n > 0
                    ? n
                    : throw new UsageException($"{a}: '{v}' is not a positive integer");
            }

            switch (a)
            {
                case "--endpoint": o.Endpoint = Next(); break;
                case "--state": o.StateDir = Next(); break;
                case "--kms-file": o.KmsFile = Next(); break;
                case "--ca": o.CaFile = Next(); break;
                case "--client-cert": o.ClientCertFile = Next(); break;
                case "--client-key": o.ClientKeyFile = Next(); break;
                case "--uri-path": o.UriPath = Next(); break;
                case "--access-key-id": o.AccessKeyId = Next(); break;
                case "--secret-env":
                    string env = Next();
                    o.SecretAccessKey = Environment.GetEnvironmentVariable(env) ?? throw new UsageException($"--secret-env: {env} is not set");
                    break;
                case "--key": o.Key = Next(); break;
                case "--region": o.Region = Next(); break;
                case "--scenario":
                case "--scenarios":
                    o.ScenarioNames.AddRange(Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
                    break;
                case "-c":
                case "--connections": o.Connections = NextInt(); break;
                case "-r":
                case "--rate":
                    string rv = Next();
                    o.Rate = double.TryParse(rv, NumberStyles.Float, CultureInfo.InvariantCulture, out double r) && r > 0
                        ? r
                        : throw new UsageException($"--rate: '{rv}' is not a positive number");
                    break;
                case "-d":
                case "--duration": o.Duration = ParseDuration(Next(), a); break;
                case "--warmup": o.Warmup = ParseDuration(Next(), a); break;
                case "--run": pendingRuns.Add(Next()); break;
                case "--baseline": o.Baseline = true; break;
                case "--baseline-only": o.Baseline = true; o.BaselineOnly = true; break;
                case "--baseline-scenario": o.BaselineScenario = Next(); break;
                case "--baseline-duration": o.BaselineDuration = ParseDuration(Next(), a); break;
                case "--baseline-gc":
                    o.BaselineGc = Next();
                    if (o.BaselineGc is not ("server" or "workstation"))
                    {
                        throw new UsageException("--baseline-gc: server or workstation");
                    }

                    break;
                case "--http2": o.Http2 = true; break;
                case "--timeout": o.Timeout = ParseDuration(Next(), a); break;
                case "--pool": o.PoolSize = NextInt(); break;
                case "--max-inflight": o.MaxInFlight = NextInt(); break;
                case "--resign-after": o.ResignAfter = ParseDuration(Next(), a); break;
                case "--markdown": o.Markdown = true; break;
                case "--json": o.JsonFile = Next(); break;
                case "-q":
                case "--quiet": o.Quiet = true; break;
                case "--rss":
                    string rss = Next();
                    int eq = rss.IndexOf('=', StringComparison.Ordinal);
                    if (eq <= 0)
                    {
                        throw new UsageException("--rss: NAME=PIDFILE, e.g. edge=lab/state/edge.pid");
                    }

                    o.RssPidFiles.Add((rss[..eq], rss[(eq + 1)..]));
                    break;
                default:
                    throw new UsageException($"unknown option '{a}' (see --help)");
            }
        }

        // --run specs take their defaults from the other options, wherever they appear.
        foreach (string run in pendingRuns)
        {
            o.Runs.Add(RunSpec.Parse(run, o.Defaults));
        }

        foreach (RunSpec run in o.EffectiveRuns())
        {
            if (!Scenarios.Names.Contains(run.Scenario))
            {
                throw new UsageException($"unknown scenario '{run.Scenario}' (one of: {string.Join(", ", Scenarios.Names)})");
            }
        }

        if (o.BaselineScenario is not null && !Scenarios.Names.Contains(o.BaselineScenario))
        {
            throw new UsageException($"--baseline-scenario: unknown scenario '{o.BaselineScenario}'");
        }

        return o;
    }

    public const string Usage = """
        XksGrpc.Bench — SigV4-signed XKS load generator (issue 6)

        usage: XksGrpc.Bench [options]                 load the lab (or --endpoint)
               XksGrpc.Bench serve-baseline --port 0 --pfx FILE   bare Kestrel HTTPS endpoint (used by --baseline)
               XksGrpc.Bench selftest                   check the signer and histogram

        target (defaults read the lab: ${XKS_LAB_STATE:-lab/state}, ../shared/CONTRACT.md)
          --endpoint URL          default https://localhost:${XKS_LAB_PORT:-8443}
          --state DIR             lab state directory
          --kms-file FILE         KMS console proxy configuration file (default: first kms/*.json by name)
          --uri-path P --access-key-id ID --secret-env VAR   instead of a kms file
          --ca FILE               trust anchor for the server certificate (default: <state>/tls/ca.pem)
          --client-cert F --client-key F   mTLS client certificate (default with XKS_LAB_MTLS=1: <state>/tls/client.*)
          --key ID                externalKeyId (default foo)      --region R (default us-east-1)

        load
          --scenario LIST         metadata, encrypt, encrypt-cdiv, decrypt, mix (comma-separated; default encrypt-cdiv)
          -c, --connections N     closed loop: N connections, one request in flight each (default 32)
          -r, --rate R            open loop at R requests/s, latency measured from the intended send time
          -d, --duration T        measured time per run (default 10s)   --warmup T (default 2s, not measured)
          --run S:cN|rN:T         a run; repeatable (e.g. --run encrypt-cdiv:c32:15s --run decrypt:r1800:60s)
          --http2                 HTTP/2 (streams multiplexed over connections) instead of HTTP/1.1 keep-alive
          --timeout T             per-request timeout (default 5s)      --pool N pre-signed requests per scenario (default 512)

        baseline
          --baseline              also load a bare Kestrel HTTPS endpoint (child process) and report each run as a share of it
          --baseline-only         only the baseline
          --baseline-scenario S   body shape sent to the baseline (default: the first run's scenario)
          --baseline-duration T   (default: the first run's duration)   --baseline-gc server|workstation (default workstation, as the edge)

        output
          --markdown              markdown table      --json FILE   results as JSON      -q, --quiet   no progress lines
          --rss NAME=PIDFILE      sample VmRSS of a process (pid read from the file each time), e.g. edge=lab/state/edge.pid
        """;
}

internal sealed class UsageException(string message) : Exception(message);
