using XksGrpc.Broker;
using XksGrpc.Broker.Admin;
using XksGrpc.Broker.Hosting;

// `XksGrpc.Broker [serve] --config <broker.json>` runs the server;
// `XksGrpc.Broker keys <create|list|disable|enable|rotate> --config <broker.json> ...` administers keys.
var commandLine = BrokerCommandLine.Parse(args);
switch (commandLine.Verb)
{
    case "serve":
        BrokerApp.Build(args).Run();
        return 0;
    case "keys":
        return KeysCommand.Run(commandLine, Console.Out, Console.Error);
    default:
        Console.Error.WriteLine($"Unknown command '{commandLine.Verb}'. Use: serve | keys <create|list|disable|enable|rotate>.");
        return 2;
}
