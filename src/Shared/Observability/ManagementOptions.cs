using System.Net;

namespace XksGrpc.Observability;

/// <summary>
/// The management listener of a program (issue 6): plain HTTP/1.1 on its own address and port,
/// serving only <c>GET /metrics</c> (Prometheus text) and <c>GET /healthz</c>. Port 0 turns it off.
/// Bound from <c>Edge:Management</c> and <c>Broker:Management</c>.
/// </summary>
internal sealed class ManagementOptions
{
    /// <summary>An IP address or "localhost"; the loopback address by default so metrics stay on the host.</summary>
    public string Address { get; set; } = "127.0.0.1";

    /// <summary>TCP port; 0 (the default) = no management listener, no metrics pipeline.</summary>
    public int Port { get; set; }

    public bool Enabled => Port != 0;

    /// <summary>The address to bind; call after <see cref="Check"/> found no problem. (A method, not a property: the
    /// configuration binder's source generator would try to bind a property.)</summary>
    public IPAddress ResolveBindAddress() => Address == "localhost" ? IPAddress.Loopback : IPAddress.Parse(Address);

    /// <summary>
    /// Adds every problem to <paramref name="problems"/>, naming the settings under <paramref name="section"/>
    /// (e.g. "Edge:Management"). <paramref name="otherPorts"/> are the program's other TCP listeners
    /// (setting name, port) the management port must not share.
    /// </summary>
    public void Check(string section, List<string> problems, params (string Setting, int Port)[] otherPorts)
    {
        if (Port is < 0 or > 65535)
        {
            problems.Add($"{section}:Port must be between 0 (off) and 65535 (was {Port}).");
        }

        if (Address != "localhost" && !IPAddress.TryParse(Address, out _))
        {
            problems.Add($"{section}:Address must be an IP address or 'localhost' (was '{Address}').");
        }

        if (Port == 0)
        {
            return;
        }

        foreach (var (setting, port) in otherPorts)
        {
            if (port == Port)
            {
                problems.Add($"{section}:Port {Port} is also {setting}: the management listener needs a port of its own.");
            }
        }
    }
}
