using System.Diagnostics;
using System.Text.Json.Nodes;

namespace XksGrpc.Drills.Tests.Infrastructure;

/// <summary>
/// A SoftHSMv2 token with the lab's keys (foo, encrypt_only_key, decrypt_only_key, impotent_key,
/// disabled_key, and the health key xks-health), made once per test run by softhsm2-util and the
/// broker's own <c>keys</c> command, then copied file by file into each drill's directory so a drill
/// may take its token away without touching another's.
/// </summary>
internal sealed class SoftHsmToken
{
    public const string ModulePath = "/usr/lib/softhsm/libsofthsm2.so";
    public const string Label = "xks-drills";
    private const string UserPin = "8642-drills";
    private static readonly Lazy<string> Template = new(CreateTemplate, LazyThreadSafetyMode.ExecutionAndPublication);

    private SoftHsmToken(string root)
    {
        Root = root;
    }

    public string Root { get; }

    public string ConfigFile => Path.Combine(Root, "softhsm2.conf");

    public string PinFile => Path.Combine(Root, "pin");

    /// <summary>The directory SoftHSM keeps its tokens in (directories.tokendir).</summary>
    public string TokensDirectory => Path.Combine(Root, "tokens");

    /// <summary>The token's own directory (one per token, named by SoftHSM).</summary>
    public string TokenDirectory => Directory.GetDirectories(TokensDirectory).Single();

    public static SoftHsmToken CopyInto(string directory)
    {
        var root = Directory.CreateDirectory(Path.Combine(directory, "softhsm")).FullName;
        Copy(Path.Combine(Template.Value, "tokens"), Path.Combine(root, "tokens"));
        WriteConfig(root);
        WritePin(root);
        return new SoftHsmToken(root);
    }

    private static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }

    private static void WriteConfig(string root)
    {
        Directory.CreateDirectory(Path.Combine(root, "tokens"));
        File.WriteAllText(Path.Combine(root, "softhsm2.conf"),
            $"directories.tokendir = {Path.Combine(root, "tokens")}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");
    }

    private static void WritePin(string root)
    {
        var pin = Path.Combine(root, "pin");
        File.WriteAllText(pin, UserPin + "\n");
        File.SetUnixFileMode(pin, UnixFileMode.UserRead | UnixFileMode.UserWrite);
    }

    private static string CreateTemplate()
    {
        if (!File.Exists(ModulePath))
        {
            throw new InvalidOperationException($"SoftHSMv2 is missing ({ModulePath}): apt-get install -y softhsm2. A missing SoftHSM is a failure, never a skip.");
        }

        var root = Directory.CreateTempSubdirectory("xksdrill-template-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        WriteConfig(root);
        WritePin(root);
        var environment = new Dictionary<string, string> { ["SOFTHSM2_CONF"] = Path.Combine(root, "softhsm2.conf") };

        var init = new ProcessStartInfo("softhsm2-util")
        {
            ArgumentList = { "--init-token", "--free", "--label", Label, "--so-pin", "9753-so", "--pin", UserPin },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        init.Environment["SOFTHSM2_CONF"] = environment["SOFTHSM2_CONF"];
        using (var process = Process.Start(init)!)
        {
            var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException("softhsm2-util --init-token failed: " + output);
            }
        }

        // The keys command reads the token and PIN from a broker configuration.
        var config = Path.Combine(root, "broker.json");
        File.WriteAllText(config, new JsonObject
        {
            ["Broker"] = new JsonObject
            {
                ["Listen"] = new JsonObject { ["UnixSocket"] = Path.Combine(root, "unused.sock") },
                ["Pkcs11"] = new JsonObject
                {
                    ["ModulePath"] = ModulePath,
                    ["Tokens"] = new JsonArray(new JsonObject { ["Id"] = "hsm-1", ["Label"] = Label, ["PinFile"] = Path.Combine(root, "pin") }),
                },
                ["Keystores"] = new JsonArray(new JsonObject { ["Name"] = "ks1", ["Keys"] = new JsonArray("foo") }),
            },
        }.ToJsonString());

        void Keys(params string[] args) => Programs.Run(Programs.BrokerDll, environment, ["keys", args[0], "--config", config, .. args[1..]]);
        Keys("create", "--label", "foo", "--usage", "encrypt,decrypt");
        Keys("create", "--label", "encrypt_only_key", "--usage", "encrypt");
        Keys("create", "--label", "decrypt_only_key", "--usage", "decrypt");
        Keys("create", "--label", "impotent_key", "--usage", "sign,verify");
        Keys("create", "--label", "disabled_key", "--usage", "encrypt,decrypt");
        Keys("disable", "--label", "disabled_key");
        Keys("create", "--label", "xks-health", "--usage", "encrypt,decrypt");
        return root;
    }
}
