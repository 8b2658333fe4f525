extern alias edge;

using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using EdgeApp = edge::XksGrpc.Edge.EdgeApp;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>
/// The real edge (EdgeApp.Build) on Kestrel over TLS on port 0, configured from a generated
/// edge.json: keystores ks1 (/ks1, two credentials) and ks2 (/ks2, one credential), secrets in
/// 0600 files, one broker on a Unix socket.
/// </summary>
internal sealed class EdgeHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private EdgeHost(WebApplication app, Uri baseAddress, string configPath)
    {
        _app = app;
        BaseAddress = baseAddress;
        ConfigPath = configPath;
    }

    public Uri BaseAddress { get; }

    public string ConfigPath { get; }

    public IServiceProvider Services => _app.Services;

    public static IReadOnlyList<TestCredential> DefaultCredentials { get; } =
    [
        TestCredential.Create("ks1", "KSONEAAAAAAAAAAAAAAAAAA2"),
        TestCredential.Create("ks1", "KSONEBBBBBBBBBBBBBBBBBB3"),
        TestCredential.Create("ks2", "KSTWOCCCCCCCCCCCCCCCCCC4"),
    ];

    /// <summary>Writes the configuration (edited by <paramref name="edit"/>) and returns its path.</summary>
    public static string WriteConfig(string directory, string brokerSocket, IReadOnlyList<TestCredential> credentials, Action<JsonObject>? edit = null)
    {
        var secrets = Path.Combine(directory, "secrets");
        Directory.CreateDirectory(secrets);
        JsonArray CredentialsOf(string keystore)
        {
            var array = new JsonArray();
            foreach (var credential in credentials.Where(c => c.Keystore == keystore))
            {
                var file = Path.Combine(secrets, credential.AccessKeyId + ".secret");
                File.WriteAllText(file, credential.Secret);
                if (!OperatingSystem.IsWindows())
                {
                    File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
                }
                array.Add(new JsonObject { ["AccessKeyId"] = credential.AccessKeyId, ["SecretFile"] = "secrets/" + credential.AccessKeyId + ".secret" });
            }

            return array;
        }

        var root = new JsonObject
        {
            ["Edge"] = new JsonObject
            {
                ["Listen"] = new JsonObject { ["Address"] = "127.0.0.1", ["Port"] = 0 },
                ["Tls"] = new JsonObject { ["CertificateFile"] = "server.pem", ["KeyFile"] = "server.key" },
                ["Proxy"] = new JsonObject { ["Vendor"] = "XksGrpc Tests", ["Model"] = "XksGrpc Edge Test 1.0", ["FleetSize"] = 2 },
                ["Keystores"] = new JsonArray
                {
                    new JsonObject { ["Name"] = "ks1", ["PathPrefix"] = "/ks1", ["Credentials"] = CredentialsOf("ks1") },
                    new JsonObject { ["Name"] = "ks2", ["PathPrefix"] = "/ks2", ["Credentials"] = CredentialsOf("ks2") },
                },
                ["Brokers"] = new JsonObject
                {
                    ["Destinations"] = new JsonArray { new JsonObject { ["Name"] = "broker-1", ["Address"] = "unix:" + brokerSocket } },
                    ["Deadline"] = "00:00:00.200",
                },
                ["Limits"] = new JsonObject { ["MaxRequestBodyBytes"] = 65536, ["MaxPlaintextBytes"] = 8192, ["MaxAadBytes"] = 16384 },
            },
        };
        edit?.Invoke(root);
        var path = Path.Combine(directory, "edge.json");
        File.WriteAllText(path, root.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        return path;
    }

    public static async Task<EdgeHost> StartAsync(string configPath, IReadOnlyList<TestCredential> credentials, Action<WebApplicationBuilder>? configure = null)
    {
        var app = EdgeApp.Build(["serve", "--config", configPath], builder =>
        {
            builder.Logging.ClearProviders();
            builder.Logging.AddProvider(new TestLogProvider());
            configure?.Invoke(builder);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new EdgeHost(app, new Uri(address), configPath);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
