using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XksGrpc.Edge.Tls.Handshake;

namespace XksGrpc.Edge.Tests.Tls.Handshake;

/// <summary>A real Kestrel on 127.0.0.1, port 0, with the gate and HTTPS (TLS 1.2, client certificate required).</summary>
public sealed class GatedKestrelFixture : IAsyncLifetime
{
    private WebApplication? _app;

    internal TestCertificates Certificates { get; } = new();

    internal RecordingLogger GateLog { get; } = new();

    public int Port { get; private set; }

    public async Task InitializeAsync()
    {
        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, 0, listen =>
        {
            listen.Protocols = HttpProtocols.Http1AndHttp2;
            listen.UseHttpsWithClientCertificateGate(
                new HttpsConnectionAdapterOptions { ServerCertificate = Certificates.Server },
                Certificates.Validate,
                GateLog);
        }));

        _app = builder.Build();
        _app.MapGet("/", (HttpContext context) => $"hello {context.Request.Protocol} {context.Connection.ClientCertificate?.GetNameInfo(System.Security.Cryptography.X509Certificates.X509NameType.SimpleName, false)}");
        await _app.StartAsync();

        Port = PortOf(_app);
    }

    internal static int PortOf(WebApplication app) =>
        new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;

    /// <summary>Runs a bash command line with a timeout; returns stdout and stderr together.</summary>
    internal Task<string> ShellAsync(string commandLine) => RunAsync("bash", ["-c", commandLine]);

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        Certificates.Dispose();
    }

    internal ClientPem Client(string name) => name switch
    {
        "client-wrong-cn" => Certificates.WrongCn,
        "client-expired" => Certificates.Expired,
        "client-other-ca" => Certificates.OtherCaClient,
        "client-selfsigned" => Certificates.SelfSigned,
        "client-expired-v1-unknown-issuer" => Certificates.ExpiredV1UnknownIssuer,
        "client-good" => Certificates.Good,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, null),
    };

    /// <summary>Runs curl 7.88 verbose against the server, returning its stdout and stderr together (as AWS's client does).</summary>
    internal async Task<CurlRun> CurlAsync(ClientPem? client, params string[] extra)
    {
        var arguments = new List<string> { "-sv", "--max-time", "15", "--cacert", Certificates.CaFile };
        if (client is not null)
        {
            arguments.AddRange(["--cert", client.CertificateFile, "--key", client.KeyFile]);
        }

        arguments.AddRange(extra);
        arguments.Add($"https://localhost:{Port}/");
        (int exitCode, string output) = await RunProcessAsync("curl", arguments);
        return new CurlRun(exitCode, output);
    }

    private static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments) => (await RunProcessAsync(fileName, arguments)).Output;

    private static async Task<(int ExitCode, string Output)> RunProcessAsync(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException(fileName + " did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException(fileName + " hung: " + await stderr);
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}

internal sealed record CurlRun(int ExitCode, string Output);

/// <summary>Records the gate's log entries so tests can assert what was refused and that nothing failed.</summary>
internal sealed class RecordingLogger : ILogger
{
    public ConcurrentQueue<(LogLevel Level, EventId Id, string Message)> Entries { get; } = new();

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Entries.Enqueue((logLevel, eventId, formatter(state, exception)));
}
