using Google.Protobuf;
using XksGrpc.Broker.Cryptography;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Service;

/// <summary>Key versions under one external key id, and disable/enable without a restart.</summary>
[Collection(BrokerCollection.Name)]
public sealed class RotationTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    [Fact]
    public async Task Rotate_NewEncryptsNameTheNewVersionAndOldCiphertextsStillDecrypt()
    {
        var plaintext = "rotate me"u8.ToArray();
        var before = await Client.EncryptAsync(Encrypt("rot_key", plaintext));
        Assert.True(CiphertextMetadata.TryDecode(before.CiphertextMetadata.Span, out var oldVersion));

        string? label = null;
        Fixture.Admin(keys => label = keys.Rotate("rot_key", usage: null));
        Assert.Equal($"rot_key#{oldVersion + 1}", label);

        var after = await Client.EncryptAsync(Encrypt("rot_key", plaintext));
        Assert.True(CiphertextMetadata.TryDecode(after.CiphertextMetadata.Span, out var newVersion));
        Assert.Equal(oldVersion + 1, newVersion);

        Assert.Equal(plaintext, (await Client.DecryptAsync(Decrypt("rot_key", before))).Plaintext.ToByteArray());
        Assert.Equal(plaintext, (await Client.DecryptAsync(Decrypt("rot_key", after))).Plaintext.ToByteArray());

        // The version is authenticated: naming the other (existing) version fails.
        var tampered = Decrypt("rot_key", before);
        tampered.CiphertextMetadata = ByteString.CopyFrom(CiphertextMetadata.Encode(newVersion));
        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(tampered));

        // A version that does not exist fails the same way.
        tampered.CiphertextMetadata = ByteString.CopyFrom(CiphertextMetadata.Encode(newVersion + 40));
        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(tampered));
    }

    [Fact]
    public async Task Disable_ThenEnable_TakesEffectWithoutRestart()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("toggle_key", [1, 2]));

        Fixture.Admin(keys => Assert.Equal(1, keys.SetEnabled("toggle_key", enabled: false)));
        Assert.Equal(KeyStatus.Disabled, (await Client.GetKeyMetadataAsync(KeyMetadata("toggle_key"))).KeyStatus);
        await AssertXksError(XksErrorName.InvalidStateException, Client.EncryptAsync(Encrypt("toggle_key", [1])));
        await AssertXksError(XksErrorName.InvalidStateException, Client.DecryptAsync(Decrypt("toggle_key", encrypted)));

        Fixture.Admin(keys => Assert.Equal(1, keys.SetEnabled("toggle_key", enabled: true)));
        Assert.Equal(KeyStatus.Enabled, (await Client.GetKeyMetadataAsync(KeyMetadata("toggle_key"))).KeyStatus);
        Assert.Equal(new byte[] { 1, 2 }, (await Client.DecryptAsync(Decrypt("toggle_key", encrypted))).Plaintext.ToByteArray());
    }

    [Fact]
    public async Task DisablingTheNewestVersion_FallsBackToTheNewestEnabledOne()
    {
        Fixture.Admin(keys =>
        {
            keys.Create("fallback_key", KeyUsage.Encrypt | KeyUsage.Decrypt);
            keys.Rotate("fallback_key", usage: null);
        });
        // fallback_key is in no keystore: the catalog is checked directly.
        var catalog = Fixture.Host.Service<Hsm>().Tokens[0].Connection!.RefreshCatalog();
        Assert.Equal(2u, catalog.Find("fallback_key")!.Current!.Version);

        Fixture.Admin(keys => keys.SetEnabled("fallback_key#2", enabled: false));
        catalog = Fixture.Host.Service<Hsm>().Tokens[0].Connection!.RefreshCatalog();
        Assert.Equal(1u, catalog.Find("fallback_key")!.Current!.Version);
        Assert.False(catalog.Find("fallback_key")!.Find(2)!.Enabled);
    }
}
