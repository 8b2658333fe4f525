namespace XksGrpc.Edge.Authentication;

/// <summary>
/// <c>XksGrpc.Edge credentials new --uri-path &lt;/prefix/kms/xks/v1&gt; [--secret-file F [--force]]</c>:
/// generates a spec-valid credential (<see cref="CredentialGenerator"/>) and prints the KMS console's proxy
/// configuration file on stdout. With <c>--secret-file</c> the secret is also written to F, created with
/// mode 0600 before any byte is written (never readable by group or others), ready to be referenced as a
/// credential's SecretFile. Nothing else is written; diagnostics go to stderr.
/// </summary>
internal static class CredentialsCommand
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int UsageError = 2;

    private const string Usage =
        "Usage: XksGrpc.Edge credentials new --uri-path </prefix/kms/xks/v1> [--secret-file <file> [--force]]\n"
        + "  Prints the AWS KMS console's XKS proxy configuration file (it contains the secret) on stdout.\n"
        + "  --secret-file  also writes the secret to <file> with mode 0600 (refuses to overwrite without --force).\n";

    /// <param name="args">The arguments after the program name; a leading "credentials" is accepted.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        int i = args.Length > 0 && args[0] == "credentials" ? 1 : 0;
        if (i < args.Length && args[i] is "--help" or "-h" or "help")
        {
            stdout.Write(Usage);
            return Success;
        }

        if (i >= args.Length || args[i] != "new")
        {
            stderr.Write(i >= args.Length ? "Missing command.\n" + Usage : $"Unknown command '{args[i]}'.\n" + Usage);
            return UsageError;
        }

        string? uriPath = null;
        string? secretFile = null;
        bool force = false;
        for (i++; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--uri-path" when i + 1 < args.Length:
                    uriPath = args[++i];
                    break;
                case "--secret-file" when i + 1 < args.Length:
                    secretFile = args[++i];
                    break;
                case "--force":
                    force = true;
                    break;
                case "--help" or "-h":
                    stdout.Write(Usage);
                    return Success;
                default:
                    stderr.Write($"Unknown or incomplete option '{args[i]}'.\n" + Usage);
                    return UsageError;
            }
        }

        string? pathError = CredentialGenerator.ValidateUriPath(uriPath);
        if (pathError is not null)
        {
            stderr.Write($"--uri-path: {pathError}\n");
            return UsageError;
        }

        GeneratedCredential credential = CredentialGenerator.Create(uriPath!);
        if (secretFile is not null)
        {
            string fullPath = Path.GetFullPath(secretFile);
            string? writeError = WriteSecretFile(fullPath, credential.SecretAccessKey, force);
            if (writeError is not null)
            {
                stderr.Write($"--secret-file: {writeError}\n");
                return Failure;
            }

            stderr.Write(
                $"Secret written to {fullPath} (mode 0600). Edge configuration for this credential:\n"
                + $"  {{ \"AccessKeyId\": \"{credential.AccessKeyId}\", \"SecretFile\": \"{fullPath}\" }}\n");
        }
        else
        {
            stderr.Write(
                "No file written: keep RawSecretAccessKey in a file of mode 0600 (SecretFile) or an environment variable (SecretEnv)\n"
                + $"  for the edge credential {{ \"AccessKeyId\": \"{credential.AccessKeyId}\", ... }}.\n");
        }

        stdout.Write(credential.ToKmsConsoleJson());
        return Success;
    }

    private static string? WriteSecretFile(string path, string secret, bool force)
    {
        string? directory = Path.GetDirectoryName(path);
        if (string.IsNullOrEmpty(directory) || !Directory.Exists(directory))
        {
            return $"directory '{directory}' does not exist.";
        }

        if (Directory.Exists(path) || (File.Exists(path) && !force))
        {
            return $"'{path}' already exists (use --force to replace it).";
        }

        // Written beside the target with 0600 from creation, then moved into place: never briefly readable.
        string temporary = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (!OperatingSystem.IsWindows())
            {
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }

            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(secret);
                writer.Write('\n');
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }

            if (!OperatingSystem.IsWindows())
            {
                // UnixCreateMode is filtered by the umask, which can only remove bits: make it exactly 0600.
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            File.Move(temporary, path, overwrite: force);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Delete(temporary);
            return $"cannot write '{path}' ({e.GetType().Name}).";
        }
    }
}
