namespace XksGrpc.Broker.Hosting;

/// <summary>
/// The broker's command line: <c>[serve] [--config &lt;broker.json&gt;] [--Broker:Key=value ...]</c>
/// or <c>keys &lt;create|list|disable|enable|rotate&gt; --config &lt;f&gt; ...</c> (design.md, "Processes and CLIs").
/// </summary>
internal sealed record BrokerCommandLine(string Verb, string? ConfigFile, string[] Rest)
{
    public static BrokerCommandLine Parse(string[] args)
    {
        var verb = "serve";
        var start = 0;
        if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            verb = args[0];
            start = 1;
        }

        string? config = null;
        var rest = new List<string>();
        for (var i = start; i < args.Length; i++)
        {
            if (args[i] == "--config" && i + 1 < args.Length)
            {
                config = args[++i];
            }
            else if (args[i].StartsWith("--config=", StringComparison.Ordinal))
            {
                config = args[i]["--config=".Length..];
            }
            else
            {
                rest.Add(args[i]);
            }
        }

        return new BrokerCommandLine(verb, config, [.. rest]);
    }

    /// <summary>The directory relative paths of the configuration are resolved against.</summary>
    public string BaseDirectory =>
        ConfigFile is null ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(Path.GetFullPath(ConfigFile))!;
}
