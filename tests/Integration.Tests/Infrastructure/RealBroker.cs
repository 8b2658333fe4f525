using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using XksGrpc.Broker;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>
/// The real broker (BrokerApp.Build) in-process on a Unix socket, serving a SoftHSMv2 token made by
/// this fixture with the lab's keys (foo, encrypt_only_key, decrypt_only_key, impotent_key,
/// disabled_key) created by the broker's own `keys` command. SoftHSM is process-global: one token
/// directory per test process.
/// </summary>
internal sealed class RealBroker : IAsyncDisposable
{
    public const string ModulePath = "/usr/lib/softhsm/libsofthsm2.so";
    private const string TokenLabel = "xks-edge-it";
    private const string UserPin = "2468-edge-it";
    private static readonly Lazy<string> SoftHsmRoot = new(CreateSoftHsm, LazyThreadSafetyMode.ExecutionAndPublication);
    private static readonly SemaphoreSlim KeysOnce = new(1, 1);
    private static bool s_keysCreated;

    private readonly WebApplication _app;

    private RealBroker(WebApplication app, string socketPath)
    {
        _app = app;
        SocketPath = socketPath;
    }

    public string SocketPath { get; }

    public static async Task<RealBroker> StartAsync(string directory)
    {
        var configPath = await WriteConfigAsync(directory);
        var app = BrokerApp.Build(["serve", "--config", configPath]);
        await app.StartAsync();
        return new RealBroker(app, SocketPathIn(directory));
    }

    /// <summary>The SoftHSM configuration a broker in another process needs (SOFTHSM2_CONF).</summary>
    public static string SoftHsmConf => Path.Combine(SoftHsmRoot.Value, "softhsm2.conf");

    /// <summary>Where the broker of <paramref name="directory"/> listens.</summary>
    public static string SocketPathIn(string directory) => Path.Combine(directory, "run", "broker.sock");

    /// <summary>
    /// Writes <c>broker.json</c> (edited by <paramref name="edit"/>) for the fixture's token, creating
    /// the token's keys on first use; returns its path.
    /// </summary>
    public static async Task<string> WriteConfigAsync(string directory, Action<JsonObject>? edit = null)
    {
        var root = SoftHsmRoot.Value;
        var configPath = Path.Combine(directory, "broker.json");
        string[] keys = ["foo", "encrypt_only_key", "decrypt_only_key", "impotent_key", "disabled_key"];
        var config = new JsonObject
        {
            ["Broker"] = new JsonObject
            {
                // No drain on stop (the drills test it with real processes).
                ["Listen"] = new JsonObject { ["UnixSocket"] = "run/broker.sock", ["SocketMode"] = "0660", ["DrainDelay"] = "00:00:00" },
                ["Pkcs11"] = new JsonObject
                {
                    ["ModulePath"] = ModulePath,
                    ["Tokens"] = new JsonArray(new JsonObject { ["Id"] = "hsm-1", ["Label"] = TokenLabel, ["PinFile"] = Path.Combine(root, "secrets", "pin") }),
                    ["SessionPoolSize"] = 8,
                    ["HealthKeyLabel"] = "xks-health",
                    ["HealthCheckInterval"] = "00:00:15",
                },
                ["Keystores"] = new JsonArray(
                    new JsonObject { ["Name"] = "ks1", ["Keys"] = new JsonArray([.. keys.Select(k => (JsonNode)k)]) },
                    new JsonObject { ["Name"] = "ks2", ["Keys"] = new JsonArray([.. keys.Select(k => (JsonNode)k)]) }),
                ["Limits"] = new JsonObject { ["MaxPlaintextBytes"] = 8192, ["MaxAadBytes"] = 16384 },
            },
        };
        edit?.Invoke(config);
        Directory.CreateDirectory(Path.Combine(directory, "run"));
        File.WriteAllText(configPath, config.ToJsonString());

        await KeysOnce.WaitAsync();
        try
        {
            if (!s_keysCreated)
            {
                Keys(configPath, "create", "--label", "foo");
                Keys(configPath, "create", "--label", "encrypt_only_key", "--usage", "encrypt");
                Keys(configPath, "create", "--label", "decrypt_only_key", "--usage", "decrypt");
                Keys(configPath, "create", "--label", "impotent_key", "--usage", "sign,verify");
                Keys(configPath, "create", "--label", "disabled_key");
                Keys(configPath, "disable", "--label", "disabled_key");
                Keys(configPath, "create", "--health");
                s_keysCreated = true;
            }
        }
        finally
        {
            KeysOnce.Release();
        }

        return configPath;
    }

    /// <summary>Runs the broker's own admin command, <c>XksGrpc.Broker keys ...</c>, as a process.</summary>
    private static void Keys(string configFile, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "XksGrpc.Broker.dll"));
        start.ArgumentList.Add("keys");
        start.ArgumentList.Add(args[0]);
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configFile);
        foreach (var arg in args[1..])
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["SOFTHSM2_CONF"] = SoftHsmConf;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"keys {string.Join(' ', args)} exited {process.ExitCode}: {error} {output.Result}");
        }
    }

#pragma warning disable SYSLIB1054 // DllImport keeps the test project free of unsafe code.
    [DllImport("libc", EntryPoint = "setenv")]
    private static extern int SetEnv(string name, string value, int overwrite);
#pragma warning restore SYSLIB1054

    private static string CreateSoftHsm()
    {
        if (!File.Exists(ModulePath))
        {
            throw new InvalidOperationException($"SoftHSMv2 is missing ({ModulePath}): apt-get install -y softhsm2. A missing SoftHSM is a failure, never a skip.");
        }

        var root = Directory.CreateTempSubdirectory("xksgrpc-edge-it-hsm-").FullName;
        var tokens = Directory.CreateDirectory(Path.Combine(root, "tokens")).FullName;
        var conf = Path.Combine(root, "softhsm2.conf");
        File.WriteAllText(conf, $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", conf);
        if (SetEnv("SOFTHSM2_CONF", conf, 1) != 0)
        {
            throw new InvalidOperationException("setenv(SOFTHSM2_CONF) failed");
        }

        var secrets = Directory.CreateDirectory(Path.Combine(root, "secrets")).FullName;
        var pin = Path.Combine(secrets, "pin");
        File.WriteAllText(pin, UserPin + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(pin, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var start = new ProcessStartInfo("softhsm2-util")
        {
            ArgumentList = { "--init-token", "--free", "--label", TokenLabel, "--so-pin", "1357-so", "--pin", UserPin },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["SOFTHSM2_CONF"] = conf;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException("softhsm2-util --init-token failed: " + output);
        }

        return root;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
