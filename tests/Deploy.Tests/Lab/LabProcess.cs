using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace XksGrpc.Deploy.Tests.Lab;

/// <summary>
/// scripts/lab.sh run as a user runs it, on a state directory and port of its own, read through the
/// contract's files only (kms/*.json, tls/, broker.pid, edge.pid).
/// </summary>
internal sealed class LabProcess : IAsyncDisposable
{
    internal static readonly TimeSpan ReadyTimeout = TimeSpan.FromMinutes(4); // first run on a cold machine builds
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Process _process;

    private LabProcess(Process process, string state, int port, bool mtls, int edgeMetricsPort, int brokerMetricsPort)
    {
        _process = process;
        State = state;
        Port = port;
        Mtls = mtls;
        EdgeMetricsPort = edgeMetricsPort;
        BrokerMetricsPort = brokerMetricsPort;
    }

    public string State { get; }

    public int Port { get; }

    public bool Mtls { get; }

    /// <summary>The edge's management port (XKS_LAB_EDGE_METRICS_PORT): free ports, so labs of other test runs do not collide on 9464.</summary>
    public int EdgeMetricsPort { get; }

    /// <summary>The broker's management port (XKS_LAB_BROKER_METRICS_PORT).</summary>
    public int BrokerMetricsPort { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    public static string NewStateDirectory() =>
        Path.Combine(Path.GetTempPath(), "xkslab-" + Guid.NewGuid().ToString("N")[..10], "state");

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static Task<LabProcess> StartAsync(string state, int port, bool mtls = false, params string[] args)
        => StartAsync(state, port, mtls, environment: null, args);

    /// <summary>As above, with extra environment variables for lab.sh and the programs it starts.</summary>
    public static async Task<LabProcess> StartAsync(string state, int port, bool mtls, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var lab = Launch(state, port, mtls, environment, args);
        try
        {
            await lab._ready.Task.WaitAsync(ReadyTimeout);
        }
        catch (Exception e)
        {
            var output = lab.Output;
            await lab.DisposeAsync();
            throw new Xunit.Sdk.XunitException($"lab.sh did not reach ready: {e.Message}\n{output}");
        }

        return lab;
    }

    /// <summary>Starts lab.sh without waiting for "ready" (a test that stops it during its start-up).</summary>
    public static LabProcess Launch(string state, int port, bool mtls, IReadOnlyDictionary<string, string>? environment, params string[] args)
    {
        var psi = new ProcessStartInfo("bash")
        {
            WorkingDirectory = RepositoryRoot.FullPath,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(Path.Combine(RepositoryRoot.FullPath, "scripts/lab.sh"));
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        psi.Environment["XKS_LAB_STATE"] = state;
        psi.Environment["XKS_LAB_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["XKS_LAB_MTLS"] = mtls ? "1" : "0";
        var (edgeMetrics, brokerMetrics) = (FreePort(), FreePort());
        psi.Environment["XKS_LAB_EDGE_METRICS_PORT"] = edgeMetrics.ToString(System.Globalization.CultureInfo.InvariantCulture);
        psi.Environment["XKS_LAB_BROKER_METRICS_PORT"] = brokerMetrics.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        var lab = new LabProcess(new Process { StartInfo = psi, EnableRaisingEvents = true }, state, port, mtls, edgeMetrics, brokerMetrics);
        lab._process.OutputDataReceived += (_, e) => lab.OnLine(e.Data);
        lab._process.ErrorDataReceived += (_, e) => lab.OnLine(e.Data);
        lab._process.Exited += (_, _) => lab._ready.TrySetException(new InvalidOperationException("lab.sh exited before ready"));
        lab._process.Start();
        lab._process.BeginOutputReadLine();
        lab._process.BeginErrorReadLine();
        return lab;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (line.Contains("ready", StringComparison.Ordinal) && line.Contains($"localhost:{Port}", StringComparison.Ordinal))
        {
            _ready.TrySetResult();
        }
    }

    public string StatePath(string relative) => Path.Combine(State, relative);

    public int Pid(string program) => int.Parse(File.ReadAllText(StatePath($"{program}.pid")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    public IReadOnlyList<KmsConsoleFile> ConsoleFiles() =>
        Directory.GetFiles(StatePath("kms"), "*.json").Order(StringComparer.Ordinal).Select(KmsConsoleFile.Load).ToList();

    public KmsConsoleFile ConsoleFile(string name) => KmsConsoleFile.Load(StatePath($"kms/{name}.json"));

    /// <summary>Sends a signal to lab.sh and waits for it to end; returns its exit code.</summary>
    public async Task<int> StopAsync(string signal = "TERM", TimeSpan? timeout = null)
    {
        await Shell.RunAsync("kill", "-" + signal, _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(cts.Token);
        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            try
            {
                await StopAsync("TERM", TimeSpan.FromSeconds(25));
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        // A lab that failed half-way may leave programs behind: end them by their pid files.
        foreach (var program in new[] { "edge", "broker" })
        {
            if (File.Exists(StatePath($"{program}.pid")) && Processes.IsAlive(Pid(program)))
            {
                await Shell.RunAsync("kill", "-KILL", Pid(program).ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
        }

        _process.Dispose();
    }

    /// <summary>Removes a directory made by <see cref="NewStateDirectory"/> (its parent is ours alone).</summary>
    public static void DeleteState(string state)
    {
        try
        {
            Directory.Delete(Path.GetDirectoryName(state)!, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>An AWS KMS console proxy configuration file (spec: "XKS proxy configuration in AWS KMS console").</summary>
internal sealed record KmsConsoleFile(string Name, string UriPath, string AccessKeyId, string Secret, IReadOnlyList<string> TopLevelProperties, IReadOnlyList<string> CredentialProperties)
{
    public string Keystore => UriPath.Split('/', StringSplitOptions.RemoveEmptyEntries)[0];

    public static KmsConsoleFile Load(string path)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(path));
        var root = doc.RootElement;
        var credential = root.GetProperty("XksProxyAuthenticationCredential");
        return new KmsConsoleFile(
            Path.GetFileNameWithoutExtension(path),
            root.GetProperty("XksProxyUriPath").GetString()!,
            credential.GetProperty("AccessKeyId").GetString()!,
            credential.GetProperty("RawSecretAccessKey").GetString()!,
            root.EnumerateObject().Select(p => p.Name).ToList(),
            credential.EnumerateObject().Select(p => p.Name).ToList());
    }
}

internal static class Processes
{
    public static bool IsAlive(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[(stat.LastIndexOf(')') + 2)..][0] != 'Z';
        }
        catch (IOException)
        {
            return false;
        }
    }

    public static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }
}

internal static class Shell
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Task<Result> RunAsync(string file, params string[] args)
        => RunAsync(file, args, environment: null, TimeSpan.FromSeconds(60));

    public static async Task<Result> RunAsync(string file, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = RepositoryRoot.FullPath,
        };
        foreach (var arg in args)
        {
            psi.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }

        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(cts.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
