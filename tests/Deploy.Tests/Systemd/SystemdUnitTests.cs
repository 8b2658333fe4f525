namespace XksGrpc.Deploy.Tests.Systemd;

/// <summary>
/// The hardened appliance (deploy/systemd): separate users, the socket shared with the edge's group
/// only, the PIN a credential of the broker alone, and the sandbox.
/// </summary>
public sealed class SystemdUnitTests
{
    private const string S = "Service";
    private static readonly UnitFile Broker = UnitFile.Load("deploy/systemd/xksgrpc-broker.service");
    private static readonly UnitFile Edge = UnitFile.Load("deploy/systemd/xksgrpc-edge.service");

    public static TheoryData<string> Units => new() { "broker", "edge" };

    private static UnitFile Unit(string name) => name == "broker" ? Broker : Edge;

    [Theory]
    [MemberData(nameof(Units))]
    public void Unit_RunsItsProgramWithItsConfig_AsItsOwnSystemUser(string name)
    {
        var unit = Unit(name);
        Assert.True(unit.HasSection("Unit") && unit.HasSection("Install"));
        Assert.Equal($"xksgrpc-{name}", unit.Value(S, "User"));
        var dll = name == "broker" ? "XksGrpc.Broker.dll" : "XksGrpc.Edge.dll";
        Assert.Equal($"/usr/bin/dotnet /opt/xksgrpc/{name}/{dll} serve --config /etc/xksgrpc/{name}/{name}.json", unit.Value(S, "ExecStart"));
        Assert.Equal("multi-user.target", unit.Value("Install", "WantedBy"));
    }

    [Theory]
    [MemberData(nameof(Units))]
    public void Unit_RestartsWithinTwoSeconds(string name)
    {
        var unit = Unit(name);
        Assert.Equal("always", unit.Value(S, "Restart"));
        Assert.True(double.Parse(unit.Value(S, "RestartSec")!.TrimEnd('s'), System.Globalization.CultureInfo.InvariantCulture) <= 2);
        Assert.True(int.Parse(unit.Value(S, "LimitNOFILE")!, System.Globalization.CultureInfo.InvariantCulture) >= 65536);
    }

    [Theory]
    [MemberData(nameof(Units))]
    public void Unit_PromotesHotMethodsToOptimisedCodeAtOnce_AsTheLabDoes(string name)
    {
        // A restart under full load otherwise runs tier-0 code for seconds (README, Benchmark).
        Assert.Contains("DOTNET_TC_CallCountingDelayMs=0", Unit(name).All(S, "Environment"));
        Assert.Contains("export DOTNET_TC_CallCountingDelayMs=${DOTNET_TC_CallCountingDelayMs:-0}", RepositoryRoot.ReadAllText("scripts/lab.sh"), StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(Units))]
    public void Unit_IsSandboxed(string name)
    {
        var unit = Unit(name);
        foreach (var key in new[]
                 {
                     "NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices", "ProtectKernelTunables",
                     "ProtectKernelModules", "ProtectKernelLogs", "ProtectControlGroups", "ProtectClock",
                     "ProtectHostname", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID", "LockPersonality",
                 })
        {
            Assert.True(unit.Value(S, key) == "yes", $"{name}: {key}={unit.Value(S, key)}");
        }

        Assert.Equal("strict", unit.Value(S, "ProtectSystem"));
        Assert.Equal("native", unit.Value(S, "SystemCallArchitectures"));
        Assert.Equal("@system-service", unit.All(S, "SystemCallFilter")[0]);
        Assert.Equal("0077", unit.Value(S, "UMask"));
        Assert.Empty(unit.List(S, "CapabilityBoundingSet"));
        Assert.Empty(unit.List(S, "AmbientCapabilities"));
        // .NET's JIT needs mprotect(PROT_EXEC); the choice is explicit, never left to a default.
        Assert.Equal("no", unit.Value(S, "MemoryDenyWriteExecute"));
    }

    [Fact]
    public void Broker_HasUnixSocketsOnly_AndNoNetwork()
    {
        Assert.Equal(["AF_UNIX"], Broker.List(S, "RestrictAddressFamilies"));
        Assert.Equal("yes", Broker.Value(S, "PrivateNetwork"));
        Assert.Equal("any", Broker.Value(S, "IPAddressDeny"));
    }

    [Fact]
    public void Edge_HasUnixAndInternetSockets()
    {
        Assert.Equal(["AF_INET", "AF_INET6", "AF_UNIX"], Edge.List(S, "RestrictAddressFamilies").Order());
        Assert.NotEqual("yes", Edge.Value(S, "PrivateNetwork"));
    }

    [Fact]
    public void Pin_IsACredentialOfTheBrokerAlone()
    {
        Assert.Contains("pin:/etc/xksgrpc/broker/pin", Broker.All(S, "LoadCredential"));
        Assert.Contains("Broker__Pkcs11__Tokens__0__PinFile=%d/pin", Broker.All(S, "Environment"));
        Assert.DoesNotContain(Edge.All(S, "LoadCredential"), c => c.Contains("pin", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(Edge.All(S, "Environment"), e => e.Contains("Pin", StringComparison.Ordinal));

        var tmpfiles = RepositoryRoot.ReadAllText("deploy/systemd/xksgrpc.tmpfiles.conf").Split('\n');
        Assert.Contains(tmpfiles, l => Fields(l) is ["z", "/etc/xksgrpc/broker/pin", "0400", "root", "root", ..]);
    }

    [Fact]
    public void SocketDirectory_BelongsToTheSocketGroup_WhichTheEdgeJoins()
    {
        Assert.Equal("xksgrpc", Broker.Value(S, "RuntimeDirectory"));
        Assert.Equal("0750", Broker.Value(S, "RuntimeDirectoryMode"));
        Assert.Equal("xksgrpc-sock", Broker.Value(S, "Group"));
        Assert.Contains("xksgrpc-sock", Edge.List(S, "SupplementaryGroups"));
        Assert.NotEqual("xksgrpc-sock", Edge.Value(S, "Group"));

        var brokerJson = RepositoryRoot.ReadAllText("deploy/systemd/broker.json");
        Assert.Contains("\"UnixSocket\": \"/run/xksgrpc/broker.sock\"", brokerJson, StringComparison.Ordinal);
        Assert.Contains("\"SocketMode\": \"0660\"", brokerJson, StringComparison.Ordinal);
        Assert.Contains("unix:/run/xksgrpc/broker.sock", RepositoryRoot.ReadAllText("deploy/systemd/edge.json"), StringComparison.Ordinal);
    }

    [Fact]
    public void SysUsers_CreatesTwoUsersAndTheSocketGroup_WithOnlyTheEdgeInIt()
    {
        var lines = RepositoryRoot.ReadAllText("deploy/systemd/xksgrpc.sysusers.conf").Split('\n')
            .Select(Fields).Where(f => f.Length > 0 && !f[0].StartsWith('#')).ToList();
        Assert.Contains(lines, f => f is ["g", "xksgrpc-sock", ..]);
        Assert.Contains(lines, f => f is ["u", "xksgrpc-broker", ..]);
        Assert.Contains(lines, f => f is ["u", "xksgrpc-edge", ..]);
        var members = lines.Where(f => f is ["m", _, "xksgrpc-sock", ..]).Select(f => f[1]).ToList();
        Assert.Equal(["xksgrpc-edge"], members);
    }

    [Fact]
    public void ExampleDropIns_WidenOnlyWhatTheyDocument()
    {
        var port443 = UnitFile.Load("deploy/systemd/examples/edge-port-443.conf");
        Assert.Equal(["CAP_NET_BIND_SERVICE"], port443.List(S, "CapabilityBoundingSet"));
        Assert.Equal(["CAP_NET_BIND_SERVICE"], port443.List(S, "AmbientCapabilities"));
        var network = UnitFile.Load("deploy/systemd/examples/broker-network-hsm.conf");
        Assert.Equal("no", network.Value(S, "PrivateNetwork"));
    }

    private static string[] Fields(string line) => line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
}
