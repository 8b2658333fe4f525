using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Service;

/// <summary>Key usage, key state, key lookup and keystore key lists.</summary>
[Collection(BrokerCollection.Name)]
public sealed class KeyRulesTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task GetKeyMetadata_OfFoo_IsAes256EncryptDecryptEnabled()
    {
        var metadata = await Client.GetKeyMetadataAsync(KeyMetadata("foo"));

        Assert.Equal("AES_256", metadata.KeySpec);
        Assert.Equal(["ENCRYPT", "DECRYPT"], metadata.KeyUsage);
        Assert.Equal(KeyStatus.Enabled, metadata.KeyStatus);
    }

    [Theory]
    [InlineData("encrypt_only_key", new[] { "ENCRYPT" })]
    [InlineData("decrypt_only_key", new[] { "DECRYPT" })]
    [InlineData("impotent_key", new[] { "SIGN", "VERIFY" })]
    public async Task GetKeyMetadata_ReportsUsageFromTheKeyAttributes(string key, string[] usage)
    {
        var metadata = await Client.GetKeyMetadataAsync(KeyMetadata(key));

        Assert.Equal(usage, metadata.KeyUsage);
        Assert.Equal(KeyStatus.Enabled, metadata.KeyStatus);
    }

    [Fact]
    public async Task GetKeyMetadata_OfDisabledKey_IsDisabled()
    {
        var metadata = await Client.GetKeyMetadataAsync(KeyMetadata("disabled_key"));

        Assert.Equal(KeyStatus.Disabled, metadata.KeyStatus);
        Assert.Equal(["ENCRYPT", "DECRYPT"], metadata.KeyUsage);
    }

    [Fact]
    public async Task EncryptAndDecrypt_WithDisabledKey_AreInvalidState()
    {
        await AssertXksError(XksErrorName.InvalidStateException, Client.EncryptAsync(Encrypt("disabled_key", [1])));
        var encrypted = await Client.EncryptAsync(Encrypt("foo", [1]));
        await AssertXksError(XksErrorName.InvalidStateException, Client.DecryptAsync(Decrypt("disabled_key", encrypted)));
    }

    [Fact]
    public async Task Encrypt_WithEncryptOnlyKey_WorksWithoutCdivAndIsInvalidKeyUsageWithCdiv()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("encrypt_only_key", [1, 2, 3], cdiv: false));
        Assert.Equal(3, encrypted.Ciphertext.Length);

        var error = await AssertXksError(XksErrorName.InvalidKeyUsageException, Client.EncryptAsync(Encrypt("encrypt_only_key", [1, 2, 3], cdiv: true)));
        Assert.Contains("integrity", error.Message);

        await AssertXksError(XksErrorName.InvalidKeyUsageException, Client.DecryptAsync(Decrypt("encrypt_only_key", encrypted)));
    }

    [Fact]
    public async Task Encrypt_WithDecryptOnlyOrImpotentKey_IsInvalidKeyUsage()
    {
        await AssertXksError(XksErrorName.InvalidKeyUsageException, Client.EncryptAsync(Encrypt("decrypt_only_key", [1], cdiv: false)));
        await AssertXksError(XksErrorName.InvalidKeyUsageException, Client.EncryptAsync(Encrypt("impotent_key", [1], cdiv: false)));
        var encrypted = await Client.EncryptAsync(Encrypt("foo", [1]));
        await AssertXksError(XksErrorName.InvalidKeyUsageException, Client.DecryptAsync(Decrypt("impotent_key", encrypted)));
    }

    [Fact]
    public async Task AnyOperation_OnKeyMissingFromTheHsm_IsKeyNotFound()
    {
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.GetKeyMetadataAsync(KeyMetadata("absent_key")));
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.EncryptAsync(Encrypt("absent_key", [1])));
        var encrypted = await Client.EncryptAsync(Encrypt("foo", [1]));
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.DecryptAsync(Decrypt("absent_key", encrypted)));
    }

    [Fact]
    public async Task AnyOperation_OnKeyOutsideTheKeystoreList_IsKeyNotFound()
    {
        // "bar" exists in the HSM and is listed for ks2 only.
        Assert.Equal(KeyStatus.Enabled, (await Client.GetKeyMetadataAsync(KeyMetadata("bar", keystore: "ks2"))).KeyStatus);

        await AssertXksError(XksErrorName.KeyNotFoundException, Client.GetKeyMetadataAsync(KeyMetadata("bar", keystore: "ks1")));
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.EncryptAsync(Encrypt("bar", [1], keystore: "ks1")));
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.EncryptAsync(Encrypt("xks-health", [1], keystore: "ks1")));
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.EncryptAsync(Encrypt("foo", [1], keystore: "no-such-keystore")));
    }

    [Fact]
    public async Task Ciphertext_OfOneKeystore_DecryptsInAnotherThatListsTheSameKey()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", [9, 9], keystore: "ks1"));
        var decrypted = await Client.DecryptAsync(Decrypt("foo", encrypted, keystore: "ks2"));

        Assert.Equal(new byte[] { 9, 9 }, decrypted.Plaintext.ToByteArray());
    }

    [Fact]
    public async Task AnyOperation_OnDuplicateLabel_IsInternalWithAClearMessage()
    {
        var error = await AssertXksError(XksErrorName.InternalException, Client.EncryptAsync(Encrypt("dup_key", [1])));

        Assert.Contains("dup_key", error.Message);
        Assert.Contains("refuses to pick", error.Message);
        await AssertXksError(XksErrorName.InternalException, Client.GetKeyMetadataAsync(KeyMetadata("dup_key")));
    }

    [Theory]
    [InlineData("")]
    [InlineData("has space")]
    [InlineData("foo#2")]
    public async Task AnyOperation_WithInvalidExternalKeyId_IsValidation(string key)
    {
        await AssertXksError(XksErrorName.ValidationException, Client.EncryptAsync(Encrypt(key, [1])));
    }

    [Fact]
    public async Task Encrypt_WithUnknownCdivAlgorithm_IsValidation()
    {
        var request = Encrypt("foo", [1]);
        request.CdivAlgorithm = (CdivAlgorithm)7;

        await AssertXksError(XksErrorName.ValidationException, Client.EncryptAsync(request));
    }

    [Fact]
    public async Task KeyAddedToTheHsm_IsServedWithoutRestart()
    {
        await AssertXksError(XksErrorName.KeyNotFoundException, Client.GetKeyMetadataAsync(KeyMetadata("late_key")));
        using (var admin = BrokerFixture.OpenAdmin())
        {
            admin.Keys.Create("late_key", KeyUsage.Encrypt | KeyUsage.Decrypt);
        }

        // No explicit refresh: a miss on a configured key re-reads the catalog (at most once a second).
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            try
            {
                var metadata = await Client.GetKeyMetadataAsync(KeyMetadata("late_key"));
                Assert.Equal(KeyStatus.Enabled, metadata.KeyStatus);
                break;
            }
            catch (Grpc.Core.RpcException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(200);
            }
        }
    }
}

/// <summary>What a request's log line carries.</summary>
[Collection(BrokerCollection.Name)]
public sealed class RequestLogTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task FailedRequest_LogsOperationKeystoreKeyKmsRequestIdAndErrorButNoData()
    {
        var request = Encrypt("absent_key", "very secret plaintext"u8.ToArray(), "secret aad"u8.ToArray());
        var headers = new Grpc.Core.Metadata { { "x-kms-request-id", "req-from-header-1" } };

        await AssertXksError(XksErrorName.KeyNotFoundException, Client.EncryptAsync(request, headers));

        var line = Assert.Single(Fixture.Logs.Entries, e => e.EventId.Name == "RequestFailed").Message;
        Assert.Contains("Encrypt", line);
        Assert.Contains("keystore=ks1", line);
        Assert.Contains("key=absent_key", line);
        Assert.Contains("kmsRequestId=req-from-header-1", line);
        Assert.Contains("KeyNotFoundException", line);
        Assert.DoesNotContain("secret", line);

        // One line per failure: gRPC's own repeat of it ("Error status code ... raised") is off by default.
        Assert.DoesNotContain(Fixture.Logs.Entries, e => e.Category.StartsWith("Grpc.", StringComparison.Ordinal) && e.Message.Contains("absent_key", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SuccessfulRequest_LogsTheKmsRequestIdOfTheRequestMetadata()
    {
        var request = Encrypt("foo", [1]);

        await Client.EncryptAsync(request);

        Assert.Contains(Fixture.Logs.Entries, e => e.EventId.Name == "RequestSucceeded" && e.Message.Contains(request.RequestMetadata.KmsRequestId));
    }
}

/// <summary>Operations options.</summary>
[Collection(BrokerCollection.Name)]
public sealed class OperationsOptionsTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task AllowUnverifiedCdiv_AnswersEncryptOnlyKeysWithACdiv()
    {
        var directory = BrokerHost.NewDirectory("unverified");
        var config = BrokerHost.Config(directory, new Dictionary<string, string[]> { ["ks1"] = ["encrypt_only_key"] },
            broker => broker["Operations"] = new System.Text.Json.Nodes.JsonObject { ["AllowUnverifiedCdiv"] = true, ["VerifyEveryEncrypt"] = true });
        await using var host = await BrokerHost.StartAsync(directory, config);

        var encrypted = await host.Client.EncryptAsync(Encrypt("encrypt_only_key", [1, 2], cdiv: true));

        Assert.Equal(32, encrypted.CiphertextDataIntegrityValue.Length);
    }
}
