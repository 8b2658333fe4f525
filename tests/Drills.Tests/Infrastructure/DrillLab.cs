using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Drills.Tests.Infrastructure;

/// <summary>
/// A lab of real processes for one drill, as scripts/lab.sh runs it: one or more brokers
/// (<c>XksGrpc.Broker.dll serve</c>) on Unix sockets over a SoftHSMv2 token of the drill's own, and
/// the edge (<c>XksGrpc.Edge.dll serve</c>) on HTTPS on a free port. Everything lives in a unique
/// temporary directory; every child process is killed on dispose, whatever the test's outcome.
/// </summary>
internal sealed class DrillLab : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };
    private readonly ChildProcess?[] _brokers;
    private readonly Action<JsonObject>? _editBroker;
    private readonly Action<JsonObject>? _editEdge;

    private DrillLab(string directory, int brokerCount, Action<JsonObject>? editBroker, Action<JsonObject>? editEdge)
    {
        Directory = directory;
        _brokers = new ChildProcess?[brokerCount];
        _editBroker = editBroker;
        _editEdge = editEdge;
        Port = FreePort();
        Credential = TestCredential.Create("ks1", "DRILLAAAAAAAAAAAAAAAAAA2");
        Pki = TestPki.Create(directory);
        Hsm = SoftHsmToken.CopyInto(directory);
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "run"));
        System.IO.Directory.CreateDirectory(Path.Combine(directory, "logs"));
    }

    public string Directory { get; }

    public int Port { get; }

    public TestCredential Credential { get; }

    public TestPki Pki { get; }

    public SoftHsmToken Hsm { get; }

    public ChildProcess? Edge { get; private set; }

    public Uri BaseAddress => new($"https://localhost:{Port}");

    public ChildProcess Broker(int index) => _brokers[index] ?? throw new InvalidOperationException($"broker-{index + 1} is not running");

    public string SocketPath(int index) => Path.Combine(Directory, "run", $"broker-{index + 1}.sock");

    /// <summary>Writes the configurations (each edited by the drill) and starts the brokers, then the edge.</summary>
    public static async Task<DrillLab> StartAsync(string name, int brokers = 1, Action<JsonObject>? editBroker = null, Action<JsonObject>? editEdge = null)
    {
        var directory = System.IO.Directory.CreateTempSubdirectory($"xksdrill-{name}-").FullName;
        var lab = new DrillLab(directory, brokers, editBroker, editEdge);
        try
        {
            for (var i = 0; i < brokers; i++)
            {
                await lab.StartBrokerAsync(i);
            }

            await lab.StartEdgeAsync();
            return lab;
        }
        catch
        {
            await lab.DisposeAsync();
            throw;
        }
    }

    public XksClient Client() => new(BaseAddress, Pki.Ca);

    /// <summary>Starts broker <paramref name="index"/> (again) and waits until its socket answers /healthz.</summary>
    public async Task StartBrokerAsync(int index)
    {
        if (_brokers[index] is { } old)
        {
            await old.DisposeAsync();
        }

        var config = WriteBrokerConfig(index);
        var broker = ChildProcess.Start($"broker-{index + 1}", Programs.BrokerDll, config, Path.Combine(Directory, "logs", $"broker-{index + 1}.log"),
            new Dictionary<string, string> { ["SOFTHSM2_CONF"] = Hsm.ConfigFile });
        _brokers[index] = broker;
        await WaitUntilAsync(() => BrokerAnswersAsync(SocketPath(index)), broker, TimeSpan.FromSeconds(30));
    }

    public async Task StartEdgeAsync()
    {
        if (Edge is { } old)
        {
            await old.DisposeAsync();
        }

        var config = WriteEdgeConfig();
        Edge = ChildProcess.Start("edge", Programs.EdgeDll, config, Path.Combine(Directory, "logs", "edge.log"));
        using var client = Client();
        await WaitUntilAsync(async () =>
        {
            try
            {
                var reply = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri(BaseAddress, "/ping")));
                return reply.Status == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, Edge, TimeSpan.FromSeconds(30));
        await WarmUpAsync(client);
    }

    /// <summary>
    /// As lab.sh does before "ready": signed calls through the whole chain until each kind succeeded,
    /// so JIT, TLS, SigV4 keys, the broker connection and PKCS#11 sessions are warm before a drill.
    /// </summary>
    private async Task WarmUpAsync(XksClient client)
    {
        // Ten clean rounds in a row: with several brokers, load balancing has then warmed each of them.
        var until = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        for (var succeeded = 0; succeeded < 10 * _brokers.Length;)
        {
            var encrypted = await client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1, 2, 3]).ToJsonString(), Credential);
            var health = await client.PostAsync("/ks1/kms/xks/v1/health", XksBodies.Health(), Credential);
            if (encrypted.Status == HttpStatusCode.OK && health.Status == HttpStatusCode.OK
                && (await client.PostAsync("/ks1/kms/xks/v1/keys/foo/decrypt", XksBodies.DecryptFrom(encrypted.Json).ToJsonString(), Credential)).Status == HttpStatusCode.OK)
            {
                succeeded++;
            }
            else if (DateTime.UtcNow <= until)
            {
                succeeded = 0;
            }
            else
            {
                throw new TimeoutException($"the lab answered no signed request during warm-up: {encrypted.Status} {encrypted.Body} / {health.Status}\n{Logs()}");
            }
        }
    }

    private static async Task WaitUntilAsync(Func<Task<bool>> check, ChildProcess process, TimeSpan timeout)
    {
        var stopwatch = Stopwatch.StartNew();
        while (!await check())
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{process.Name} exited during start-up with status {process.ExitCode}\n{process.Tail()}");
            }

            if (stopwatch.Elapsed > timeout)
            {
                throw new TimeoutException($"{process.Name} did not come up within {timeout}\n{process.Tail()}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>GET /healthz over the broker's Unix socket (h2c), as lab.sh's readiness check does.</summary>
    public static async Task<bool> BrokerAnswersAsync(string socketPath)
    {
        if (!File.Exists(socketPath))
        {
            return false;
        }

        using var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (_, ct) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), ct);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(2) };
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "http://broker/healthz")
            {
                Version = HttpVersion.Version20,
                VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            };
            using var response = await http.SendAsync(request);
            return true;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return false;
        }
    }

    private string WriteBrokerConfig(int index)
    {
        string[] keys = ["foo", "encrypt_only_key", "decrypt_only_key", "impotent_key", "disabled_key"];
        var root = new JsonObject
        {
            ["Broker"] = new JsonObject
            {
                ["Listen"] = new JsonObject { ["UnixSocket"] = SocketPath(index), ["SocketMode"] = "0660" },
                ["Pkcs11"] = new JsonObject
                {
                    ["ModulePath"] = SoftHsmToken.ModulePath,
                    ["Tokens"] = new JsonArray(new JsonObject { ["Id"] = "hsm-1", ["Label"] = SoftHsmToken.Label, ["PinFile"] = Hsm.PinFile }),
                    ["SessionPoolSize"] = 8,
                    ["HealthKeyLabel"] = "xks-health",
                    ["HealthCheckInterval"] = "00:00:15",
                },
                ["Keystores"] = new JsonArray(new JsonObject { ["Name"] = "ks1", ["Keys"] = new JsonArray([.. keys.Select(k => (JsonNode)k)]) }),
                ["Limits"] = new JsonObject { ["MaxPlaintextBytes"] = 8192, ["MaxAadBytes"] = 16384 },
            },
        };
        _editBroker?.Invoke(root);
        var path = Path.Combine(Directory, $"broker-{index + 1}.json");
        File.WriteAllText(path, root.ToJsonString(Indented));
        return path;
    }

    private string WriteEdgeConfig()
    {
        var secret = Path.Combine(Directory, "ks1.secret");
        File.WriteAllText(secret, Credential.Secret);
        File.SetUnixFileMode(secret, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        var destinations = new JsonArray();
        for (var i = 0; i < _brokers.Length; i++)
        {
            destinations.Add(new JsonObject { ["Name"] = $"broker-{i + 1}", ["Address"] = "unix:" + SocketPath(i) });
        }

        var root = new JsonObject
        {
            ["Edge"] = new JsonObject
            {
                ["Listen"] = new JsonObject { ["Address"] = "127.0.0.1", ["Port"] = Port },
                ["Tls"] = new JsonObject { ["CertificateFile"] = "server.pem", ["KeyFile"] = "server.key" },
                ["Proxy"] = new JsonObject { ["Vendor"] = "XksGrpc", ["Model"] = "XksGrpc drills", ["FleetSize"] = 1 },
                ["Keystores"] = new JsonArray(new JsonObject
                {
                    ["Name"] = "ks1",
                    ["PathPrefix"] = "/ks1",
                    ["Credentials"] = new JsonArray(new JsonObject { ["AccessKeyId"] = Credential.AccessKeyId, ["SecretFile"] = "ks1.secret" }),
                }),
                ["Brokers"] = new JsonObject { ["Destinations"] = destinations, ["Deadline"] = DrillCollection.Deadline.ToString("c", CultureInfo.InvariantCulture) },
                ["Limits"] = new JsonObject { ["MaxRequestBodyBytes"] = 65536, ["MaxPlaintextBytes"] = 8192, ["MaxAadBytes"] = 16384 },
                ["Management"] = new JsonObject { ["Address"] = "127.0.0.1", ["Port"] = 0 },
            },
        };
        _editEdge?.Invoke(root);
        var path = Path.Combine(Directory, "edge.json");
        File.WriteAllText(path, root.ToJsonString(Indented));
        return path;
    }

    /// <summary>The last lines of every program's log, for assertion messages.</summary>
    public string Logs()
    {
        var parts = _brokers.Where(b => b is not null).Select(b => b!.Tail()).ToList();
        if (Edge is not null)
        {
            // The edge's warnings name why a request failed; the tail alone may be past them.
            var warnings = Edge.ReadLog().Split('\n').Where(l => l.Contains("\"LogLevel\":\"Warning\"", StringComparison.Ordinal) || l.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal));
            parts.Add($"--- {Edge.Name} warnings and errors:\n" + string.Join('\n', warnings.Take(40)));
            parts.Add(Edge.Tail());
        }

        return string.Join('\n', parts);
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public async ValueTask DisposeAsync()
    {
        if (Edge is not null)
        {
            await Edge.DisposeAsync();
        }

        foreach (var broker in _brokers)
        {
            if (broker is not null)
            {
                await broker.DisposeAsync();
            }
        }

        // Logs stay for a failed run only when asked (XKS_DRILLS_KEEP=1); the directory is ours alone.
        if (Environment.GetEnvironmentVariable("XKS_DRILLS_KEEP") != "1")
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}

/// <summary>The built programs (the configuration the tests were built in).</summary>
internal static class Programs
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "XksGrpc.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"XksGrpc.sln not found above {AppContext.BaseDirectory}");
    });

    // tests/Drills.Tests/bin/<Configuration>/net10.0/
    private static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;

    public static string RepositoryRoot => Root.Value;

    public static string BrokerDll => Built("src/Broker", "XksGrpc.Broker.dll");

    public static string EdgeDll => Built("src/Edge", "XksGrpc.Edge.dll");

    private static string Built(string project, string dll)
    {
        var path = Path.Combine(Root.Value, project, "bin", Configuration, "net10.0", dll);
        return File.Exists(path) ? path : throw new FileNotFoundException($"{dll} is not built ({path}): build XksGrpc.sln first.", path);
    }

    /// <summary>Runs a program's admin command (<c>dotnet &lt;dll&gt; args…</c>) and fails on a non-zero exit.</summary>
    public static string Run(string dll, IReadOnlyDictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Path.GetFileName(dll)} {string.Join(' ', args)} did not finish");
        }

        return process.ExitCode == 0
            ? stdout.Result
            : throw new InvalidOperationException($"{Path.GetFileName(dll)} {string.Join(' ', args)} exited {process.ExitCode}: {stderr} {stdout.Result}");
    }

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
