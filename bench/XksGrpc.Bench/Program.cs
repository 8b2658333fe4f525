using System.Net;
using System.Runtime.InteropServices;
using XksGrpc.Bench;
using XksGrpc.Bench.Baseline;
using XksGrpc.Bench.Cli;
using XksGrpc.Bench.Load;
using XksGrpc.Bench.Measurement;
using XksGrpc.Bench.Requests;
using XksGrpc.Bench.Target;

// The generator shares 2 cores with the system under test: thread-pool workers that spin
// (sched_yield) waiting for work burn CPU the server needs. Must run before the pool starts; the
// baseline server child keeps the runtime's default, as the edge does.
if (args.FirstOrDefault() != "serve-baseline")
{
    AppContext.SetData("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", 0);
}

switch (args.FirstOrDefault())
{
    case "serve-baseline":
        return await BaselineServer.RunAsync(args[1..]);
    case "selftest":
        return SelfTest.Run();
    case "-h" or "--help" or "help":
        Console.Out.WriteLine(BenchOptions.Usage);
        return 0;
}

BenchOptions options;
XksTarget? proxy;
try
{
    options = BenchOptions.Parse(args);
    proxy = options.BaselineOnly ? TryTarget(options) : XksTarget.FromOptions(options);
}
catch (UsageException e)
{
    Console.Error.WriteLine($"XksGrpc.Bench: {e.Message}");
    return 2;
}

using var cancel = new CancellationTokenSource();
// Ctrl-C or SIGTERM: stop the load and report what was measured.
void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    cancel.Cancel();
}

using PosixSignalRegistration onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using PosixSignalRegistration onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);

var memory = new ProcessMemory(options.RssPidFiles);
Report.MemoryNames = options.RssPidFiles.Select(p => p.Name).ToList();
Version version = options.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;
IReadOnlyList<RunSpec> runs = options.EffectiveRuns();
var results = new List<RunResult>();
RunResult? baseline = null;
int exitCode = 0;

try
{
    if (options.Baseline)
    {
        RunSpec first = runs.FirstOrDefault(r => !r.OpenLoop) ?? runs[0];
        var spec = new RunSpec(
            options.BaselineScenario ?? first.Scenario,
            first.Connections,
            0,
            options.BaselineDuration ?? first.Duration);

        (string, string)? serverPem = proxy is null ? null : (Path.Combine(options.StateDir, "tls", "server.pem"), Path.Combine(options.StateDir, "tls", "server.key"));
        await using BaselineProcess server = await BaselineProcess.StartAsync(proxy, serverPem, options.BaselineGc == "server", cancel.Token);
        Console.Error.WriteLine($"baseline: bare Kestrel HTTPS endpoint pid {server.ProcessId} at {server.Target.Endpoint} ({options.BaselineGc} GC)");
        baseline = await RunOneAsync(server.Target, spec, options, memory, version, cancel.Token);
        results.Add(baseline);
    }

    if (!options.BaselineOnly)
    {
        foreach (RunSpec spec in runs)
        {
            cancel.Token.ThrowIfCancellationRequested();
            try
            {
                results.Add(await RunOneAsync(proxy!, spec, options, memory, version, cancel.Token));
            }
            catch (PreparationException e)
            {
                Console.Error.WriteLine($"XksGrpc.Bench: {spec.Scenario}: preparation failed, run skipped: {e.Message}");
                exitCode = 1;
            }
        }
    }
}
catch (OperationCanceledException) when (cancel.IsCancellationRequested)
{
    Console.Error.WriteLine("XksGrpc.Bench: interrupted; reporting the runs that completed");
    exitCode = 130;
}

if (cancel.IsCancellationRequested && exitCode == 0)
{
    Console.Error.WriteLine("XksGrpc.Bench: interrupted; the last run reports the time it ran");
    exitCode = 130;
}

string description = options.BaselineOnly && proxy is null
    ? $"XksGrpc.Bench: baseline only, HTTP/{version}, {Report.Machine()}"
    : $"XksGrpc.Bench: {proxy!.Description} key {options.Key}, HTTP/{version}{(proxy.ClientCertificate is null ? "" : ", mTLS")}, {Report.Machine()}";

if (results.Count > 0)
{
    Console.Out.Write(options.Markdown ? Report.Markdown(results, baseline, description) : Report.Text(results, baseline, description));
    if (options.JsonFile is not null)
    {
        Report.Json(options.JsonFile, results, baseline, description);
    }
}

return exitCode;

static XksTarget? TryTarget(BenchOptions options)
{
    try
    {
        return XksTarget.FromOptions(options);
    }
    catch (UsageException)
    {
        return null;
    }
}

static async Task<RunResult> RunOneAsync(XksTarget target, RunSpec spec, BenchOptions options, ProcessMemory memory, Version version, CancellationToken ct)
{
    RequestPool pool;
    using (SocketsHttpHandler prepHandler = target.CreateHandler(8, options.Http2))
    using (var prep = new HttpMessageInvoker(prepHandler, disposeHandler: false))
    {
        var builder = new PoolBuilder(target, options.Key, prep, version);
        pool = await builder.BuildAsync(spec.Scenario, options.PoolSize, ct);
    }

    if (!options.Quiet)
    {
        Console.Error.WriteLine(
            $"[{target.Name} {spec.Scenario} {spec.Load}] {pool.Items.Length} pre-signed requests; " +
            $"{options.Warmup.TotalSeconds:0.#}s warm-up, {spec.Duration.TotalSeconds:0.#}s measured against {target.Description}");
    }

    return await new LoadRunner(target, pool, spec, options, memory).RunAsync(ct);
}
