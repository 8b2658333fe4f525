using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Options;

namespace XksGrpc.Edge.Hosting;

/// <summary>
/// The edge's command line (design.md, "Processes and CLIs"):
/// <c>XksGrpc.Edge [serve] --config &lt;edge.json&gt;</c>. Admin commands (credentials, policy,
/// audit) are dispatched here as their implementations land.
/// </summary>
internal static class EdgeCommandLine
{
    public const int ExitOk = 0;
    public const int ExitUsage = 64;
    public const int ExitConfig = 78;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr)
    {
        var command = args.Length == 0 || args[0].StartsWith('-') ? "serve" : args[0];
        switch (command)
        {
            case "serve":
                return await ServeAsync(args, stderr);
            case "credentials":
                return Authentication.CredentialsCommand.Run(args, stdout, stderr);
            case "help" or "--help" or "-h":
                await stdout.WriteLineAsync(Usage);
                return ExitOk;
            default:
                await stderr.WriteLineAsync($"Unknown command '{command}'.");
                await stderr.WriteLineAsync(Usage);
                return ExitUsage;
        }
    }

    public const string Usage = """
        Usage:
          XksGrpc.Edge [serve] --config <edge.json>    run the XKS proxy edge
          XksGrpc.Edge credentials new --uri-path </prefix/kms/xks/v1> [--secret-file <f>]
                                                      generate a SigV4 credential and print the KMS console file
        """;

    /// <summary>The value after <c>--config</c> (or <c>--config=...</c>), or null.</summary>
    public static string? FindConfigPath(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                return args[i + 1];
            }

            if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                return args[i]["--config=".Length..];
            }
        }

        return null;
    }

    private static async Task<int> ServeAsync(string[] args, TextWriter stderr)
    {
        if (FindConfigPath(args) is null)
        {
            await stderr.WriteLineAsync("Missing --config <edge.json>.");
            await stderr.WriteLineAsync(Usage);
            return ExitUsage;
        }

        WebApplication app;
        try
        {
            app = EdgeApp.Build(args);
        }
        catch (Authentication.CredentialConfigurationException ex)
        {
            await stderr.WriteLineAsync("The edge's SigV4 credentials are invalid:");
            foreach (var error in ex.Errors)
            {
                await stderr.WriteLineAsync("  - " + error);
            }

            return ExitConfig;
        }
        catch (OptionsValidationException ex)
        {
            await stderr.WriteLineAsync("The edge configuration is invalid:");
            foreach (var failure in ex.Failures)
            {
                await stderr.WriteLineAsync("  - " + failure);
            }

            return ExitConfig;
        }
        catch (Exception ex) when (ex is FileNotFoundException or InvalidDataException or InvalidOperationException or ArgumentException or IOException)
        {
            await stderr.WriteLineAsync("The edge cannot start: " + ex.Message);
            return ExitConfig;
        }

        await app.RunAsync();
        return ExitOk;
    }
}
