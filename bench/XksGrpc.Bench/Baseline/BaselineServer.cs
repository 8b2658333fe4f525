using System.Buffers;
using System.IO.Pipelines;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace XksGrpc.Bench.Baseline;

/// <summary>
/// <c>XksGrpc.Bench serve-baseline --port 0 --pfx FILE</c>: the machine's ceiling for this
/// stack. A bare Kestrel HTTPS endpoint on 127.0.0.1 (HTTP/1.1 and HTTP/2, like the edge)
/// that reads each request body and answers every POST with the same small JSON: TLS, HTTP
/// parsing and the ASP.NET Core pipeline, and no work. Prints <c>listening https://127.0.0.1:PORT</c>
/// and exits when its standard input closes (its parent, the generator, is gone).
/// </summary>
internal static class BaselineServer
{
    public const string ReadyPrefix = "listening https://127.0.0.1:";

    private static readonly byte[] Response = """{"keySpec":"AES_256","keyUsage":["ENCRYPT","DECRYPT"],"keyStatus":"ENABLED"}"""u8.ToArray();

    public static async Task<int> RunAsync(string[] args)
    {
        int port = 0;
        string? pfx = null;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--port" when i + 1 < args.Length: port = int.Parse(args[++i], System.Globalization.CultureInfo.InvariantCulture); break;
                case "--pfx" when i + 1 < args.Length: pfx = args[++i]; break;
                default:
                    await Console.Error.WriteLineAsync($"serve-baseline: unknown option '{args[i]}' (--port N --pfx FILE)").ConfigureAwait(false);
                    return 2;
            }
        }

        if (pfx is null)
        {
            await Console.Error.WriteLineAsync("serve-baseline: --pfx FILE is required (a PKCS#12 certificate with its key, no password)").ConfigureAwait(false);
            return 2;
        }

        X509Certificate2 certificate = X509CertificateLoader.LoadPkcs12FromFile(pfx, null);

        WebApplicationBuilder builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            k.Listen(IPAddress.Loopback, port, listen =>
            {
                listen.Protocols = HttpProtocols.Http1AndHttp2;
                listen.UseHttps(certificate);
            });
        });

        WebApplication app = builder.Build();
        app.Run(static async context =>
        {
            PipeReader reader = context.Request.BodyReader;
            while (true)
            {
                ReadResult read = await reader.ReadAsync(context.RequestAborted).ConfigureAwait(false);
                reader.AdvanceTo(read.Buffer.End);
                if (read.IsCompleted)
                {
                    break;
                }
            }

            context.Response.StatusCode = 200;
            context.Response.ContentType = "application/json";
            context.Response.ContentLength = Response.Length;
            await context.Response.Body.WriteAsync(Response, context.RequestAborted).ConfigureAwait(false);
        });

        await app.StartAsync().ConfigureAwait(false);
        var address = new Uri(app.Urls.First());
        Console.Out.WriteLine(ReadyPrefix + address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Console.Out.Flush();

        // Exit with the parent: it holds our standard input open for as long as it lives.
        await Task.Run(() =>
        {
            using Stream stdin = Console.OpenStandardInput();
            byte[] buffer = ArrayPool<byte>.Shared.Rent(256);
            while (stdin.Read(buffer, 0, buffer.Length) > 0)
            {
            }
        }).ConfigureAwait(false);

        await app.StopAsync().ConfigureAwait(false);
        return 0;
    }
}
