using System.Diagnostics;
using System.Runtime.InteropServices;

namespace XksGrpc.Broker.Tests.Infrastructure;

/// <summary>
/// A SoftHSMv2 of the tests' own: a temporary token directory and softhsm2.conf, SOFTHSM2_CONF set
/// in the native environment before the module is first loaded, and tokens made with softhsm2-util.
/// SoftHSM is process-global, so there is one per test process.
/// </summary>
internal static partial class SoftHsmEnvironment
{
    public const string ModulePath = "/usr/lib/softhsm/libsofthsm2.so";
    public const string TokenLabel = "xks-test";
    public const string UserPin = "5678-test-pin";
    private const string SoPin = "1234-test-so";

    private static readonly Lazy<string> Root = new(Create, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>The temporary directory holding softhsm2.conf, tokens/ and secrets/pin.</summary>
    public static string Directory => Root.Value;

    public static string ConfigFile => Path.Combine(Directory, "softhsm2.conf");

    public static string PinFile => Path.Combine(Directory, "secrets", "pin");

    [LibraryImport("libc", EntryPoint = "setenv", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int SetEnv(string name, string value, int overwrite);

    private static string Create()
    {
        if (!File.Exists(ModulePath))
        {
            throw new InvalidOperationException($"SoftHSMv2 is missing ({ModulePath}): apt-get install -y softhsm2. A missing SoftHSM is a failure, never a skip.");
        }

        var root = System.IO.Directory.CreateTempSubdirectory("xksgrpc-broker-tests-").FullName;
        var tokens = System.IO.Directory.CreateDirectory(Path.Combine(root, "tokens")).FullName;
        File.WriteAllText(Path.Combine(root, "softhsm2.conf"),
            $"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n");

        // .NET's Environment.SetEnvironmentVariable does not reach the native environment that
        // SoftHSM's getenv reads; setenv does.
        Environment.SetEnvironmentVariable("SOFTHSM2_CONF", Path.Combine(root, "softhsm2.conf"));
        if (SetEnv("SOFTHSM2_CONF", Path.Combine(root, "softhsm2.conf"), 1) != 0)
        {
            throw new InvalidOperationException("setenv(SOFTHSM2_CONF) failed");
        }

        var secrets = System.IO.Directory.CreateDirectory(Path.Combine(root, "secrets")).FullName;
        var pin = Path.Combine(secrets, "pin");
        File.WriteAllText(pin, UserPin + "\n");
        File.SetUnixFileMode(pin, UnixFileMode.UserRead | UnixFileMode.UserWrite);

        InitToken(root, TokenLabel);
        return root;
    }

    /// <summary>Initializes a fresh token labelled <paramref name="label"/> in the first free slot.</summary>
    public static void InitToken(string root, string label)
    {
        var start = new ProcessStartInfo("softhsm2-util")
        {
            ArgumentList = { "--init-token", "--free", "--label", label, "--so-pin", SoPin, "--pin", UserPin },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["SOFTHSM2_CONF"] = Path.Combine(root, "softhsm2.conf");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd() + process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"softhsm2-util --init-token failed: {output}");
        }
    }
}
