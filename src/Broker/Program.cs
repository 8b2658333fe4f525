using XksGrpc.Broker;
using XksGrpc.Broker.Admin;
using XksGrpc.Broker.Hosting;

// `XksGrpc.Broker [serve] --config <broker.json>` runs the server;
// `XksGrpc.Broker keys <create|list|disable|enable|rotate|batch> --config <broker.json> ...` administers keys.
var commandLine = BrokerCommandLine.Parse(args);
switch (commandLine.Verb)
{
    case "serve":
        BrokerApp.Build(args).Run();
        return 0;
    case "keys":
        return KeysCommand.Run(commandLine, Console.In, Console.Out, Console.Error);
    default:
        Console.Error.WriteLine($"Unknown command '{commandLine.Verb}'. Use: serve | keys <create|list|disable|enable|rotate|batch>.");
        return 2;
}
