using YamlDotNet.RepresentationModel;
using static XksGrpc.Deploy.Tests.Compose.ComposeFile;

namespace XksGrpc.Deploy.Tests.Compose;

/// <summary>
/// The two-tier compose stack (issue 4): no Docker engine runs here, so its security properties are
/// checked on the parsed file.
/// </summary>
public sealed class DockerComposeTests
{
    private readonly ComposeFile _compose = ComposeFile.Load();

    [Fact]
    public void Networks_AreDmzAndAnInternalNetworkWithoutRouteOut()
    {
        var networks = Map(_compose.Root, "networks");
        Assert.Equal(["dmz", "internal"], networks.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value).Order());
        Assert.Equal("true", Scalar(Map(networks, "internal"), "internal"));
        var dmz = Get(networks, "dmz") as YamlMappingNode;
        Assert.NotEqual("true", dmz is null ? null : Scalar(dmz, "internal"));
    }

    [Fact]
    public void Broker_IsOnTheInternalNetworkOnly()
    {
        Assert.Equal(["internal"], Names(_compose.Service("broker"), "networks"));
    }

    [Fact]
    public void Edge_IsOnBothNetworks()
    {
        Assert.Equal(["dmz", "internal"], Names(_compose.Service("edge"), "networks").Order());
    }

    [Fact]
    public void Services_AreExactlyBrokerAndEdge()
    {
        Assert.Equal(["broker", "edge"], _compose.Services.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value).Order());
    }

    [Fact]
    public void OnlyTheEdge_PublishesAPort_And_ItIs8443()
    {
        foreach (var (name, service) in ServicesByName())
        {
            var ports = Names(service, "ports");
            if (name == "edge")
            {
                Assert.Equal(["8443:8443"], ports);
            }
            else
            {
                Assert.Empty(ports);
            }
        }
    }

    [Fact]
    public void HsmPin_IsAComposeSecret_UsedByTheBrokerOnly()
    {
        var secrets = Map(_compose.Root, "secrets");
        var pin = Map(secrets, "hsm_pin");
        Assert.False(string.IsNullOrEmpty(Scalar(pin, "file")), "hsm_pin must come from a file, not the environment");

        foreach (var (name, service) in ServicesByName())
        {
            var uses = Names(service, "secrets").Contains("hsm_pin");
            Assert.True(uses == (name == "broker"), $"{name}: uses hsm_pin = {uses}");
        }

        var brokerConfig = RepositoryRoot.ReadAllText("deploy/compose/broker.json");
        Assert.Contains("/run/secrets/hsm_pin", brokerConfig, StringComparison.Ordinal);
    }

    [Fact]
    public void HsmTokenVolume_IsMountedIntoTheBrokerOnly()
    {
        Assert.Contains("hsm-tokens", Map(_compose.Root, "volumes").Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value));
        foreach (var (name, service) in ServicesByName())
        {
            var mountsToken = Names(service, "volumes").Any(v => v.StartsWith("hsm-tokens:", StringComparison.Ordinal));
            Assert.True(mountsToken == (name == "broker"), $"{name}: mounts the HSM token volume = {mountsToken}");
        }
    }

    [Fact]
    public void EdgeConfiguration_HasNoHsmPin()
    {
        var edgeConfig = RepositoryRoot.ReadAllText("deploy/compose/edge.json");
        Assert.DoesNotContain("Pin", edgeConfig, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("broker")]
    [InlineData("edge")]
    public void Service_RunsAsANonRootUser_OnAReadOnlyRoot_WithoutCapabilities(string name)
    {
        var service = _compose.Service(name);
        var user = Scalar(service, "user");
        Assert.False(string.IsNullOrEmpty(user), $"{name}: no user");
        var uid = user!.Split(':')[0];
        Assert.True(uid != "0" && uid != "root", $"{name}: runs as {user}");
        Assert.Equal("true", Scalar(service, "read_only"));
        Assert.Equal(["ALL"], Names(service, "cap_drop"));
        Assert.Contains(Names(service, "security_opt"), o => o.Replace(" ", "") is "no-new-privileges:true" or "no-new-privileges");
        Assert.Contains(Names(service, "tmpfs"), t => t.StartsWith("/tmp", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("broker")]
    [InlineData("edge")]
    public void Service_HasAHealthcheck_ThatRunsACommand(string name)
    {
        var healthcheck = Map(_compose.Service(name), "healthcheck");
        var test = Assert.IsType<YamlSequenceNode>(Get(healthcheck, "test"));
        Assert.Contains(((YamlScalarNode)test.Children[0]).Value, new[] { "CMD", "CMD-SHELL" });
        Assert.True(test.Children.Count > 1);
        Assert.NotEqual("true", Scalar(healthcheck, "disable"));
    }

    [Fact]
    public void EdgeHealthcheck_IsTheLoadBalancerPing()
    {
        var test = (YamlSequenceNode)Get(Map(_compose.Service("edge"), "healthcheck"), "test")!;
        Assert.Contains(test.Children.Cast<YamlScalarNode>(), s => s.Value!.EndsWith(":8443/ping", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("broker", "src/Broker/Dockerfile")]
    [InlineData("edge", "src/Edge/Dockerfile")]
    public void Service_IsBuiltFromItsDockerfile_AndRunsWithAConfigFile(string name, string dockerfile)
    {
        var service = _compose.Service(name);
        var build = Map(service, "build");
        Assert.Equal(".", Scalar(build, "context"));
        Assert.Equal(dockerfile, Scalar(build, "dockerfile"));
        Assert.Equal(["serve", "--config", $"/etc/xksgrpc/{name}/{name}.json"], Names(service, "command"));
        Assert.Contains(Names(service, "volumes"), v => v.EndsWith($":/etc/xksgrpc/{name}/{name}.json:ro", StringComparison.Ordinal));
    }

    [Fact]
    public void EveryBindMountedConfig_IsCommittedOrMadeByTheInitScript()
    {
        var init = RepositoryRoot.ReadAllText("deploy/compose/init.sh");
        foreach (var (name, service) in ServicesByName())
        {
            foreach (var source in Names(service, "volumes").Select(v => v.Split(':')[0]).Where(s => s.StartsWith("./", StringComparison.Ordinal)))
            {
                var relative = source[2..];
                if (relative.StartsWith("deploy/compose/generated/", StringComparison.Ordinal))
                {
                    var generated = relative["deploy/compose/generated/".Length..];
                    Assert.True(init.Contains(generated.Split('/')[0], StringComparison.Ordinal), $"{name}: {source} is not made by init.sh");
                }
                else
                {
                    Assert.True(File.Exists(Path.Combine(RepositoryRoot.FullPath, relative)), $"{name}: {source} is missing");
                }
            }
        }
    }

    private IEnumerable<(string Name, YamlMappingNode Service)> ServicesByName() =>
        _compose.Services.Children.Select(kv => (((YamlScalarNode)kv.Key).Value!, (YamlMappingNode)kv.Value));
}
