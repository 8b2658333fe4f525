using Microsoft.Extensions.Configuration;
using XksGrpc.Edge.Configuration;

namespace XksGrpc.Edge.Tests.Configuration;

public sealed class EdgeOptionsValidatorsTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xksgrpc-cfg-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private string SecretFile(string name, UnixFileMode mode = UnixFileMode.UserRead | UnixFileMode.UserWrite)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, "secret");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, mode);
        }

        return path;
    }

    private EdgeOptions Valid()
    {
        var certificate = Path.Combine(_directory, "server.pem");
        File.WriteAllText(certificate, "x");
        return new EdgeOptions
        {
            Tls = new EdgeTlsOptions { CertificateFile = certificate, KeyFile = certificate },
            Keystores =
            [
                new KeystoreOptions
                {
                    Name = "ks1",
                    PathPrefix = "/ks1",
                    Credentials = [new CredentialOptions { AccessKeyId = "AKIDAAAAAAAAAAAAAAAAAA", SecretFile = SecretFile("a.secret") }],
                },
            ],
            Brokers = new BrokersOptions { Destinations = [new BrokerDestinationOptions { Name = "broker-1", Address = "unix:/run/xksgrpc/broker.sock" }] },
        };
    }

    private static List<string> Failures(EdgeOptions options, IConfiguration? configuration = null)
    {
        EdgeOptionsValidator[] validators =
        [
            new ListenValidator(), new ServerTlsValidator(), new ProxyInfoValidator(), new KeystoresValidator(),
            new BrokersValidator(), new LimitsValidator(), new NoHsmPinValidator(configuration ?? new ConfigurationBuilder().Build()),
        ];
        var failures = new List<string>();
        foreach (var validator in validators)
        {
            var result = validator.Validate(null, options);
            if (result.Failed)
            {
                failures.AddRange(result.Failures);
            }
        }

        return failures;
    }

    [Fact]
    public void ValidConfiguration_HasNoFailures()
        => Assert.Empty(Failures(Valid()));

    [Fact]
    public void EveryProblem_IsReportedAtOnce_NamingTheSetting()
    {
        var options = Valid();
        options.Listen.Port = 70000;
        options.Proxy.FleetSize = 0;
        options.Keystores[0].PathPrefix = "ks1/";
        options.Brokers.Deadline = TimeSpan.FromSeconds(1);
        options.Limits.MaxPlaintextBytes = 4299;
        options.Limits.MaxAadBytes = 8191;

        var failures = Failures(options);

        Assert.Contains(failures, f => f.StartsWith("Edge:Listen:Port", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Proxy:FleetSize", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Keystores:0:PathPrefix", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Brokers:Deadline", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Limits:MaxPlaintextBytes", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Limits:MaxAadBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void ManagementListener_IsOffByDefault_AndAValidOneIsAccepted()
    {
        var options = Valid();
        Assert.False(options.Management.Enabled);
        Assert.Equal("127.0.0.1", options.Management.Address);

        options.Management.Port = 9464;
        options.Management.Address = "localhost";
        Assert.Empty(Failures(options));
        Assert.True(options.Management.Enabled);
    }

    [Fact]
    public void ManagementListener_WithABadPortAddressOrTheXksPort_IsRefused_NamingEachSetting()
    {
        var options = Valid();
        options.Management.Port = 65536;
        options.Management.Address = "metrics.example";
        var failures = Failures(options);
        Assert.Contains(failures, f => f.StartsWith("Edge:Management:Port", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Management:Address", StringComparison.Ordinal));

        options = Valid();
        options.Management.Port = options.Listen.Port;
        var shared = Assert.Single(Failures(options));
        Assert.StartsWith("Edge:Management:Port", shared, StringComparison.Ordinal);
        Assert.Contains("Edge:Listen:Port", shared, StringComparison.Ordinal);
    }

    [Fact]
    public void SpecMinima_ArePermitted_AndOneBelowIsNot()
    {
        var options = Valid();
        options.Limits.MaxPlaintextBytes = 4300;
        options.Limits.MaxAadBytes = 8192;
        Assert.Empty(Failures(options));

        options.Limits.MaxRequestBodyBytes = LimitsValidator.RequiredBodyBytes(4300, 8192) - 1;
        Assert.Contains(Failures(options), f => f.StartsWith("Edge:Limits:MaxRequestBodyBytes", StringComparison.Ordinal));
    }

    [Fact]
    public void ConnectionLimits_OutOfRange_AreRefused_NamingEachSetting()
    {
        var options = Valid();
        options.Limits.RequestHeadersTimeout = TimeSpan.Zero;
        options.Limits.KeepAliveTimeout = TimeSpan.FromHours(1);
        options.Limits.MaxConcurrentConnections = 0;

        var failures = Failures(options);

        Assert.Contains(failures, f => f.StartsWith("Edge:Limits:RequestHeadersTimeout", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Limits:KeepAliveTimeout", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Limits:MaxConcurrentConnections", StringComparison.Ordinal));
    }

    [Fact]
    public void SecretFileReadableByOthers_IsRefused()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        var options = Valid();
        options.Keystores[0].Credentials[0].SecretFile = SecretFile("open.secret", UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead);

        Assert.Contains(Failures(options), f => f.Contains("Credentials:0:SecretFile", StringComparison.Ordinal) && f.Contains("group or others", StringComparison.Ordinal));
    }

    [Fact]
    public void DuplicateAccessKeyIdsAndPrefixes_AreRefused()
    {
        var options = Valid();
        options.Keystores.Add(new KeystoreOptions
        {
            Name = "ks1",
            PathPrefix = "/ks1",
            Credentials = [new CredentialOptions { AccessKeyId = "AKIDAAAAAAAAAAAAAAAAAA", SecretFile = SecretFile("b.secret") }],
        });

        var failures = Failures(options);

        Assert.Contains(failures, f => f.StartsWith("Edge:Keystores:1:Name", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Keystores:1:PathPrefix", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Keystores:1:Credentials:0:AccessKeyId", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("unix:relative.sock")]
    [InlineData("http://broker:5001")]
    [InlineData("tcp://broker:5001")]
    [InlineData("")]
    public void BrokerAddress_MustBeUnixOrHttps(string address)
    {
        var options = Valid();
        options.Brokers.Destinations[0].Address = address;

        Assert.Contains(Failures(options), f => f.StartsWith("Edge:Brokers:Destinations:0:Address", StringComparison.Ordinal));
    }

    [Fact]
    public void HttpsBroker_RequiresMutualTlsFiles()
    {
        var options = Valid();
        options.Brokers.Destinations[0].Address = "https://broker.internal:5001";

        var failures = Failures(options);

        Assert.Contains(failures, f => f.StartsWith("Edge:Brokers:Tls:CaFile", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Brokers:Tls:CertificateFile", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("Edge:Brokers:Tls:KeyFile", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("Edge:Hsm:Pin")]
    [InlineData("Edge:Pkcs11:Tokens:0:PinFile")]
    [InlineData("Edge:UserPinEnv")]
    public void PinLikeSetting_StopsTheEdge(string key)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection([new(key, "1234")]).Build();

        Assert.Contains(Failures(Valid(), configuration), f => f.StartsWith(key, StringComparison.Ordinal) && f.Contains("PIN", StringComparison.Ordinal));
    }

    [Fact]
    public void RelativePaths_AreResolvedAgainstTheConfigDirectory()
    {
        var options = new EdgeOptions
        {
            Tls = new EdgeTlsOptions { CertificateFile = "tls/server.pem", KeyFile = "/abs/server.key" },
            Keystores = [new KeystoreOptions { Credentials = [new CredentialOptions { SecretFile = "secrets/a.secret" }] }],
            Brokers = new BrokersOptions { Destinations = [new BrokerDestinationOptions { Address = "unix:run/broker.sock" }] },
        };

        new ResolveEdgePaths(new EdgeConfigLocation("/etc/xks")).PostConfigure(null, options);

        Assert.Equal("/etc/xks/tls/server.pem", options.Tls.CertificateFile);
        Assert.Equal("/abs/server.key", options.Tls.KeyFile);
        Assert.Equal("/etc/xks/secrets/a.secret", options.Keystores[0].Credentials[0].SecretFile);
        Assert.Equal("unix:/etc/xks/run/broker.sock", options.Brokers.Destinations[0].Address);
    }
}
