using System.Text;

namespace XksGrpc.Broker.Configuration;

/// <summary>
/// Reads a token's user PIN from its file or environment variable. Only the broker reads it; it is
/// never logged, and the bytes are cleared by the caller after login.
/// </summary>
internal static class PinSource
{
    private const UnixFileMode GroupOrOther =
        UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.GroupExecute |
        UnixFileMode.OtherRead | UnixFileMode.OtherWrite | UnixFileMode.OtherExecute;

    /// <summary>Why the PIN of <paramref name="token"/> cannot be read, or null. Never reveals the PIN.</summary>
    public static string? Problem(TokenOptions token, string setting)
    {
        var hasFile = !string.IsNullOrEmpty(token.PinFile);
        var hasEnv = !string.IsNullOrEmpty(token.PinEnv);
        if (hasFile == hasEnv)
        {
            return $"{setting}: set exactly one of PinFile or PinEnv.";
        }

        if (hasEnv)
        {
            return string.IsNullOrEmpty(Environment.GetEnvironmentVariable(token.PinEnv!))
                ? $"{setting}.PinEnv: the environment variable '{token.PinEnv}' is not set or empty."
                : null;
        }

        var path = token.PinFile!;
        if (!File.Exists(path))
        {
            return $"{setting}.PinFile: '{path}' does not exist.";
        }

        if (!OperatingSystem.IsWindows())
        {
            var mode = File.GetUnixFileMode(path);
            if ((mode & GroupOrOther) != 0)
            {
                return $"{setting}.PinFile: '{path}' is accessible by group or others (mode {Convert.ToString((int)mode, 8)}); " +
                       "the PIN file must be readable by its owner only (chmod 600).";
            }
        }

        return null;
    }

    /// <summary>The PIN's bytes, without a trailing newline.</summary>
    public static byte[] Read(TokenOptions token)
    {
        var problem = Problem(token, $"Broker:Pkcs11:Tokens[{token.Id}]");
        if (problem is not null)
        {
            throw new InvalidOperationException(problem);
        }

        byte[] bytes = !string.IsNullOrEmpty(token.PinEnv)
            ? Encoding.UTF8.GetBytes(Environment.GetEnvironmentVariable(token.PinEnv!)!)
            : File.ReadAllBytes(token.PinFile!);
        var length = bytes.Length;
        while (length > 0 && bytes[length - 1] is (byte)'\n' or (byte)'\r')
        {
            length--;
        }

        if (length == bytes.Length)
        {
            return bytes;
        }

        var trimmed = bytes.AsSpan(0, length).ToArray();
        Array.Clear(bytes);
        return trimmed;
    }
}
