using System.Net;
using System.Security.Cryptography;
using System.Text;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Integration.Tests.Edge;

/// <summary>The real edge and the real broker (SoftHSMv2 token made by the fixture): what KMS and the conformance client see.</summary>
public sealed class EdgeWithRealBrokerFixture : IAsyncLifetime
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xksgrpc-real-").FullName;

    internal RealBroker Broker { get; private set; } = null!;

    internal EdgeHost Edge { get; private set; } = null!;

    internal XksClient Client { get; private set; } = null!;

    internal TestCredential Ks1 => EdgeHost.DefaultCredentials[0];

    public async Task InitializeAsync()
    {
        var pki = TestPki.Create(_directory);
        Broker = await RealBroker.StartAsync(_directory);
        Edge = await EdgeHost.StartAsync(EdgeHost.WriteConfig(_directory, Broker.SocketPath, EdgeHost.DefaultCredentials), EdgeHost.DefaultCredentials);
        Client = new XksClient(Edge.BaseAddress, pki.Ca);
        await Client.WaitUntilReadyAsync(TimeSpan.FromSeconds(30));
        for (var i = 0; i < 5; i++)
        {
            var warm = await Client.PostAsync("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1], cdiv: true).ToJsonString(), Ks1);
            if (warm.Status == HttpStatusCode.OK)
            {
                break;
            }
        }
    }

    public async Task DisposeAsync()
    {
        Client.Dispose();
        await Edge.DisposeAsync();
        await Broker.DisposeAsync();
        Directory.Delete(_directory, recursive: true);
    }
}

public sealed class RealBrokerTests(EdgeWithRealBrokerFixture fixture) : IClassFixture<EdgeWithRealBrokerFixture>
{
    private static readonly byte[] Aad = Encoding.ASCII.GetBytes("project=nile,department=marketing");

    private Task<XksClient.Reply> Post(string path, string body, Version? version = null) => fixture.Client.PostAsync(path, body, fixture.Ks1, version);

    [Fact]
    public async Task Health_ReportsTheSoftHsmToken()
    {
        var reply = await Post("/ks1/kms/xks/v1/health", XksBodies.Health());

        Assert.True(reply.Status == HttpStatusCode.OK, reply.Body);
        Assert.Contains("\"healthStatus\":", reply.Body, StringComparison.Ordinal);
        Assert.Equal("hsm-1", reply.Json["ekmFleetDetails"]![0]!["id"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("DescribeKey")]
    [InlineData("CreateKey")]
    public async Task GetKeyMetadata_OfFoo_IsAnEnabledAesKey(string operation)
    {
        var reply = await Post("/ks1/kms/xks/v1/keys/foo/metadata", XksBodies.KeyMetadata(operation));

        Assert.True(reply.Status == HttpStatusCode.OK, reply.Body);
        Assert.Equal("AES_256", reply.Json["keySpec"]!.GetValue<string>());
        Assert.Equal("ENABLED", reply.Json["keyStatus"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("1.1", 12, 33)]
    [InlineData("2.0", 4096, 8192)]
    [InlineData("1.1", 4300, 0)]
    public async Task EncryptWithCdivThenDecrypt_RoundTripsThroughTheHsm(string version, int plaintextBytes, int aadBytes)
    {
        var plaintext = RandomNumberGenerator.GetBytes(plaintextBytes);
        var aad = aadBytes == 0 ? null : RandomNumberGenerator.GetBytes(aadBytes);
        var encrypt = await Post("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt(plaintext, aad, cdiv: true).ToJsonString(), Version.Parse(version));
        Assert.True(encrypt.Status == HttpStatusCode.OK, encrypt.Body);

        var json = encrypt.Json;
        byte[] Field(string name) => json[name] is { } node ? Convert.FromBase64String(node.GetValue<string>()) : [];
        var cdiv = SHA256.HashData([.. aad ?? [], .. Field("ciphertextMetadata"), .. Field("initializationVector"), .. Field("ciphertext"), .. Field("authenticationTag")]);
        Assert.Equal(Convert.ToBase64String(cdiv), json["ciphertextDataIntegrityValue"]!.GetValue<string>());

        var decrypt = await Post("/ks1/kms/xks/v1/keys/foo/decrypt", XksBodies.DecryptFrom(json, aad).ToJsonString(), Version.Parse(version));
        Assert.True(decrypt.Status == HttpStatusCode.OK, decrypt.Body);
        Assert.Equal(Convert.ToBase64String(plaintext), decrypt.Json["plaintext"]!.GetValue<string>());
    }

    [Fact]
    public async Task DecryptWithoutTheAad_IsInvalidCiphertext()
    {
        var encrypt = await Post("/ks1/kms/xks/v1/keys/foo/encrypt", XksBodies.Encrypt([1, 2, 3], Aad).ToJsonString());
        var reply = await Post("/ks1/kms/xks/v1/keys/foo/decrypt", XksBodies.DecryptFrom(encrypt.Json).ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("InvalidCiphertextException", reply.ErrorName);
    }

    [Theory]
    [InlineData("impotent_key", false)]
    [InlineData("impotent_key", true)]
    [InlineData("decrypt_only_key", false)]
    [InlineData("encrypt_only_key", true)]
    public async Task EncryptOnAKeyThatCannot_IsInvalidKeyUsage(string key, bool cdiv)
    {
        var reply = await Post($"/ks1/kms/xks/v1/keys/{key}/encrypt", XksBodies.Encrypt([1, 2, 3], Aad, cdiv).ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("InvalidKeyUsageException", reply.ErrorName);
    }

    [Fact]
    public async Task DecryptOnAnEncryptOnlyKey_IsInvalidKeyUsage()
    {
        var encrypt = await Post("/ks1/kms/xks/v1/keys/encrypt_only_key/encrypt", XksBodies.Encrypt([1, 2, 3]).ToJsonString());
        Assert.True(encrypt.Status == HttpStatusCode.OK, encrypt.Body);
        var reply = await Post("/ks1/kms/xks/v1/keys/encrypt_only_key/decrypt", XksBodies.DecryptFrom(encrypt.Json).ToJsonString());

        Assert.Equal("InvalidKeyUsageException", reply.ErrorName);
    }

    [Fact]
    public async Task EncryptOnADisabledKey_IsInvalidState()
    {
        var reply = await Post("/ks1/kms/xks/v1/keys/disabled_key/encrypt", XksBodies.Encrypt([1]).ToJsonString());

        Assert.Equal(HttpStatusCode.BadRequest, reply.Status);
        Assert.Equal("InvalidStateException", reply.ErrorName);
    }

    [Theory]
    [InlineData("metadata")]
    [InlineData("encrypt")]
    public async Task UnknownKey_IsKeyNotFound(string operation)
    {
        var body = operation == "metadata" ? XksBodies.KeyMetadata() : XksBodies.Encrypt([1]).ToJsonString();
        var reply = await Post($"/ks1/kms/xks/v1/keys/non_existing_key/{operation}", body);

        Assert.Equal(HttpStatusCode.NotFound, reply.Status);
        Assert.Equal("KeyNotFoundException", reply.ErrorName);
    }
}
