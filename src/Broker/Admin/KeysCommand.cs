using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Hosting;
using XksGrpc.Broker.Pkcs11;

namespace XksGrpc.Broker.Admin;

/// <summary>
/// <c>XksGrpc.Broker keys &lt;create|list|disable|enable|rotate|batch&gt; --config &lt;broker.json&gt; [--token &lt;id&gt;] ...</c>:
/// provisions the AES-256 keys the broker serves (issue 2; the lab's demo keys of CONTRACT.md).
/// Exit codes: 0 done (or nothing to do), 1 failed, 2 usage error.
/// </summary>
internal static class KeysCommand
{
    public const string Usage = """
        usage: XksGrpc.Broker keys <command> --config <broker.json> [--token <id>]
          create  --label <id> [--usage encrypt,decrypt,...|none] [--version <n>]   (exists: says so, exit 0)
          create  --health                                                       (the health check key)
          list
          disable --label <id|id#n>      (id: every version; id#n: that version)
          enable  --label <id|id#n>
          rotate  --label <id> [--usage ...]   (adds version id#<newest+1>)
          batch                          (the commands above from standard input, one a line without
                                          --config/--token, on one login; stops at the first that fails)
        usage words: encrypt, decrypt, wrap, unwrap, sign, verify, derive; default encrypt,decrypt
        """;

    public static int Run(BrokerCommandLine commandLine, TextReader input, TextWriter output, TextWriter error)
    {
        var rest = commandLine.Rest;
        if (rest.Length == 0 || rest[0] is "-h" or "--help" or "help")
        {
            (rest.Length == 0 ? error : output).WriteLine(Usage);
            return rest.Length == 0 ? 2 : 0;
        }

        var command = rest[0];
        var flags = ParseFlags(rest.AsSpan(1), out var flagProblem);
        if (flagProblem is not null)
        {
            error.WriteLine(flagProblem);
            error.WriteLine(Usage);
            return 2;
        }

        BrokerOptions options;
        try
        {
            options = LoadOptions(commandLine);
        }
        catch (OptionsValidationException e)
        {
            error.WriteLine("The configuration is invalid:");
            foreach (var failure in e.Failures)
            {
                error.WriteLine($"  {failure}");
            }

            return 1;
        }

        var tokenId = flags.GetValueOrDefault("token");
        var token = tokenId is null ? options.Pkcs11.Tokens.FirstOrDefault() : options.Pkcs11.Tokens.FirstOrDefault(t => t.Id == tokenId);
        if (token is null)
        {
            error.WriteLine(tokenId is null ? "Broker:Pkcs11:Tokens: no token is configured." : $"No configured token has Id '{tokenId}'.");
            return 2;
        }

        try
        {
            using var connection = AdminConnection.Open(options.Pkcs11.ModulePath, token, NullLogger.Instance);
            return command == "batch"
                ? Batch(connection, input, options, output, error)
                : Execute(connection, command, flags, options, output, error);
        }
        catch (Exception e) when (e is Net.Pkcs11Interop.Common.Pkcs11Exception or TokenUnavailableException or InvalidOperationException or IOException)
        {
            error.WriteLine($"keys {command} failed: {e.Message}");
            return 1;
        }
    }

    private static int Execute(AdminConnection connection, string command, Dictionary<string, string?> flags, BrokerOptions options,
        TextWriter output, TextWriter error) => command switch
    {
        "create" => Create(connection.Keys, flags, options, output, error),
        "list" => List(connection.Keys, connection.TokenDescription, output),
        "disable" => SetEnabled(connection.Keys, flags, enabled: false, output, error),
        "enable" => SetEnabled(connection.Keys, flags, enabled: true, output, error),
        "rotate" => Rotate(connection.Keys, flags, output, error),
        _ => UnknownCommand(command, error),
    };

    /// <summary>
    /// One command a line (blank lines and <c>#</c> comments skipped), all on the batch's login: a
    /// first run of the lab creates its demo keys in one process instead of seven.
    /// </summary>
    private static int Batch(AdminConnection connection, TextReader input, BrokerOptions options, TextWriter output, TextWriter error)
    {
        var number = 0;
        for (var line = input.ReadLine(); line is not null; line = input.ReadLine())
        {
            number++;
            var words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (words.Length == 0 || words[0].StartsWith('#'))
            {
                continue;
            }

            var flags = ParseFlags(words.AsSpan(1), out var problem);
            if (problem is null && (words[0] == "batch" || flags.ContainsKey("config") || flags.ContainsKey("token")))
            {
                problem = "a batch line is a single command without --config or --token";
            }

            var code = problem is null ? Execute(connection, words[0], flags, options, output, error) : 2;
            if (code != 0)
            {
                error.WriteLine($"batch line {number} ({line.Trim()}): {problem ?? "failed"}; the lines after it were not run");
                return code;
            }
        }

        return 0;
    }

    private static int Create(KeyAdmin keys, Dictionary<string, string?> flags, BrokerOptions options, TextWriter output, TextWriter error)
    {
        string label;
        if (flags.ContainsKey("health"))
        {
            label = options.Pkcs11.HealthKeyLabel;
        }
        else if (RequireLabel(flags, error) is { } id)
        {
            if (id.Contains('#') || !KeystoresValidator.IsExternalKeyId(id))
            {
                error.WriteLine($"'{id}' is not an external key id (1-128 of [A-Za-z0-9._-]); use --version for versions.");
                return 2;
            }

            label = id;
            if (flags.GetValueOrDefault("version") is { } versionText)
            {
                if (!uint.TryParse(versionText, NumberStyles.None, CultureInfo.InvariantCulture, out var version) || version == 0)
                {
                    error.WriteLine($"--version: '{versionText}' is not a version number (1, 2, ...).");
                    return 2;
                }

                label = KeyCatalog.LabelOf(id, version);
            }
        }
        else
        {
            return 2;
        }

        if (ParseUsage(flags, KeyUsage.Encrypt | KeyUsage.Decrypt, error) is not { } usage)
        {
            return 2;
        }

        var result = keys.Create(label, usage);
        output.WriteLine(result == KeyAdmin.CreateResult.Created
            ? $"created {label} ({string.Join(',', KeyUsageNames.ToNames(usage))})"
            : $"exists {label} (unchanged)");
        return 0;
    }

    private static int List(KeyAdmin keys, string token, TextWriter output)
    {
        output.WriteLine($"token {token}");
        output.WriteLine($"{"label",-40} {"version",7} {"status",-9} usage");
        foreach (var family in keys.Catalog().Families.OrderBy(f => f.Id, StringComparer.Ordinal))
        {
            foreach (var v in family.Versions)
            {
                var status = v.Duplicates > 1 ? $"DUPLICATE x{v.Duplicates}" : v.Enabled ? "ENABLED" : "DISABLED";
                output.WriteLine($"{v.Label,-40} {v.Version,7} {status,-9} {string.Join(',', KeyUsageNames.ToNames(v.Usage))}");
            }
        }

        return 0;
    }

    private static int SetEnabled(KeyAdmin keys, Dictionary<string, string?> flags, bool enabled, TextWriter output, TextWriter error)
    {
        if (RequireLabel(flags, error) is not { } label)
        {
            return 2;
        }

        var changed = keys.SetEnabled(label, enabled);
        if (changed == 0)
        {
            error.WriteLine($"no key labelled '{label}'");
            return 1;
        }

        output.WriteLine($"{(enabled ? "enabled" : "disabled")} {label} ({changed} object{(changed == 1 ? "" : "s")})");
        return 0;
    }

    private static int Rotate(KeyAdmin keys, Dictionary<string, string?> flags, TextWriter output, TextWriter error)
    {
        if (RequireLabel(flags, error) is not { } id)
        {
            return 2;
        }

        KeyUsage? usage = null;
        if (flags.ContainsKey("usage"))
        {
            if (ParseUsage(flags, KeyUsage.None, error) is not { } parsed)
            {
                return 2;
            }

            usage = parsed;
        }

        output.WriteLine($"created {keys.Rotate(id, usage)}");
        return 0;
    }

    private static int UnknownCommand(string command, TextWriter error)
    {
        error.WriteLine($"unknown keys command '{command}'");
        error.WriteLine(Usage);
        return 2;
    }

    private static string? RequireLabel(Dictionary<string, string?> flags, TextWriter error)
    {
        if (flags.GetValueOrDefault("label") is { Length: > 0 } label)
        {
            return label;
        }

        error.WriteLine("--label <id> is required.");
        return null;
    }

    private static KeyUsage? ParseUsage(Dictionary<string, string?> flags, KeyUsage fallback, TextWriter error)
    {
        if (!flags.TryGetValue("usage", out var text))
        {
            return fallback;
        }

        var usage = KeyUsageNames.Parse(text ?? "", out var problem);
        if (usage is null)
        {
            error.WriteLine($"--usage: {problem}");
        }

        return usage;
    }

    private static Dictionary<string, string?> ParseFlags(ReadOnlySpan<string> args, out string? problem)
    {
        problem = null;
        var flags = new Dictionary<string, string?>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal))
            {
                problem = $"unexpected argument '{arg}'";
                return flags;
            }

            var name = arg[2..];
            if (name == "health")
            {
                flags[name] = null;
            }
            else if (name is "label" or "usage" or "version" or "token")
            {
                if (i + 1 >= args.Length)
                {
                    problem = $"{arg} needs a value";
                    return flags;
                }

                flags[name] = args[++i];
            }
            else
            {
                problem = $"unknown option '{arg}'";
                return flags;
            }
        }

        return flags;
    }

    /// <summary>The same configuration sources as the server; only the PKCS#11 settings are validated.</summary>
    private static BrokerOptions LoadOptions(BrokerCommandLine commandLine)
    {
        var configuration = new ConfigurationBuilder();
        if (commandLine.ConfigFile is { } file)
        {
            configuration.AddJsonFile(Path.GetFullPath(file), optional: false, reloadOnChange: false);
        }

        configuration.AddEnvironmentVariables();
        var services = new ServiceCollection();
        services.AddOptions<BrokerOptions>().Bind(configuration.Build().GetSection(BrokerOptions.Section));
        services.AddSingleton<IPostConfigureOptions<BrokerOptions>>(new ConfigurationPaths(commandLine.BaseDirectory));
        services.AddSingleton<IValidateOptions<BrokerOptions>, Pkcs11OptionsValidator>();
        using var provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<BrokerOptions>>().Value;
    }
}
