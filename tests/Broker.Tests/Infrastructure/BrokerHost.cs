using System.Net.Sockets;
using System.Text.Json.Nodes;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Tests.Infrastructure;

/// <summary>
/// A broker hosted in-process from a broker.json written to its own directory, listening on a Unix
/// socket there (or TCP), with a gRPC client on it and every log event collected.
/// </summary>
internal sealed class BrokerHost : IAsyncDisposable
{
    private BrokerHost(string directory, WebApplication app, LogSink logs, GrpcChannel? channel)
    {
        Directory = directory;
        App = app;
        Logs = logs;
        Channel = channel;
        Client = channel is null ? null! : new XksBroker.XksBrokerClient(channel);
    }

    public string Directory { get; }
    public WebApplication App { get; }
    public LogSink Logs { get; }
    public GrpcChannel? Channel { get; }
    public XksBroker.XksBrokerClient Client { get; }
    public string SocketPath => Path.Combine(Directory, "run", "broker.sock");
    public string ConfigFile => Path.Combine(Directory, "broker.json");

    public T Service<T>() where T : notnull => App.Services.GetRequiredService<T>();

    /// <summary>A broker.json for the test token; <paramref name="keystores"/> maps keystore → keys.</summary>
    public static JsonObject Config(string directory, IDictionary<string, string[]> keystores, Action<JsonObject>? tweak = null)
    {
        var ks = new JsonArray();
        foreach (var (name, keys) in keystores)
        {
            ks.Add(new JsonObject { ["Name"] = name, ["Keys"] = new JsonArray(keys.Select(k => (JsonNode)k).ToArray()) });
        }

        // The PIN file is given relative to the config file's directory, as the lab does.
        var pinRelative = Path.GetRelativePath(directory, SoftHsmEnvironment.PinFile);
        var broker = new JsonObject
        {
            // No drain on stop (ShutdownDrain): every test stops its broker; ShutdownDrainTests set one.
            ["Listen"] = new JsonObject { ["UnixSocket"] = "run/broker.sock", ["SocketMode"] = "0660", ["DrainDelay"] = "00:00:00" },
            ["Pkcs11"] = new JsonObject
            {
                ["ModulePath"] = SoftHsmEnvironment.ModulePath,
                ["Tokens"] = new JsonArray(new JsonObject { ["Id"] = "hsm-1", ["Label"] = SoftHsmEnvironment.TokenLabel, ["PinFile"] = pinRelative }),
                ["SessionPoolSize"] = 8,
                ["HealthKeyLabel"] = "xks-health",
                ["HealthCheckInterval"] = "00:01:00",
                ["KeyRefreshInterval"] = "00:10:00",
                ["ReconnectMinDelay"] = "00:00:00.100",
                ["ReconnectMaxDelay"] = "00:00:01",
            },
            ["Keystores"] = ks,
            ["Limits"] = new JsonObject { ["MaxPlaintextBytes"] = 8192, ["MaxAadBytes"] = 16384 },
        };
        tweak?.Invoke(broker);
        return new JsonObject { ["Broker"] = broker, ["Logging"] = new JsonObject { ["LogLevel"] = new JsonObject { ["Default"] = "Debug" } } };
    }

    public static string NewDirectory(string name)
    {
        var directory = Path.Combine(SoftHsmEnvironment.Directory, name + "-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        return directory;
    }

    public static string WriteConfig(string directory, JsonObject config)
    {
        var path = Path.Combine(directory, "broker.json");
        File.WriteAllText(path, config.ToJsonString());
        return path;
    }

    /// <summary>Builds and starts a broker from <paramref name="config"/> in <paramref name="directory"/>.</summary>
    public static async Task<BrokerHost> StartAsync(string directory, JsonObject config, bool unixClient = true)
    {
        var path = WriteConfig(directory, config);
        var logs = new LogSink();
        var app = BrokerApp.Build(["serve", "--config", path], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(logs);
            builder.Logging.SetMinimumLevel(LogLevel.Debug);
        });
        await app.StartAsync();
        var channel = unixClient ? UnixChannel(Path.Combine(directory, "run", "broker.sock")) : null;
        return new BrokerHost(directory, app, logs, channel);
    }

    public static GrpcChannel UnixChannel(string socketPath) =>
        GrpcChannel.ForAddress("http://localhost", new GrpcChannelOptions { HttpHandler = UnixHandler(socketPath) });

    /// <summary>An HTTP/2 client handler whose every connection is the broker's Unix socket.</summary>
    public static SocketsHttpHandler UnixHandler(string socketPath) =>
        new()
        {
            ConnectCallback = async (_, cancellationToken) =>
            {
                var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
            EnableMultipleHttp2Connections = true,
        };

    public async ValueTask DisposeAsync()
    {
        Channel?.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
