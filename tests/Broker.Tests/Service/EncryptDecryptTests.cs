using System.Security.Cryptography;
using Google.Protobuf;
using XksGrpc.Broker.Cryptography;
using XksGrpc.Broker.Tests.Infrastructure;
using XksGrpc.Broker.V1;
using static XksGrpc.Broker.Tests.Infrastructure.Requests;

namespace XksGrpc.Broker.Tests.Service;

[Collection(BrokerCollection.Name)]
public sealed class EncryptDecryptTests(BrokerFixture fixture) : BrokerTest(fixture)
{
    private static readonly byte[] Aad = "project=nile,department=marketing"u8.ToArray();

    [Fact]
    public async Task Encrypt_ThenDecrypt_ReturnsThePlaintext()
    {
        var plaintext = "Hello World!"u8.ToArray();

        var encrypted = await Client.EncryptAsync(Encrypt("foo", plaintext, Aad));
        var decrypted = await Client.DecryptAsync(Decrypt("foo", encrypted, Aad));

        Assert.Equal(plaintext, decrypted.Plaintext.ToByteArray());
        Assert.Equal(plaintext.Length, encrypted.Ciphertext.Length);
        Assert.NotEqual(plaintext, encrypted.Ciphertext.ToByteArray());
        Assert.Equal(12, encrypted.InitializationVector.Length);
        Assert.Equal(16, encrypted.AuthenticationTag.Length);
        Assert.Equal(CiphertextMetadata.Encode(1), encrypted.CiphertextMetadata.ToByteArray());
    }

    [Fact]
    public async Task Encrypt_WithCdiv_AnswersSha256OverAadMetadataIvCiphertextAndTag()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "Hello World!"u8.ToArray(), Aad, cdiv: true));

        var expected = SHA256.HashData([.. Aad, .. encrypted.CiphertextMetadata, .. encrypted.InitializationVector,
            .. encrypted.Ciphertext, .. encrypted.AuthenticationTag]);
        Assert.Equal(expected, encrypted.CiphertextDataIntegrityValue.ToByteArray());
    }

    [Fact]
    public async Task Encrypt_WithoutCdiv_AnswersNoCdiv()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "x"u8.ToArray(), cdiv: false));

        Assert.True(encrypted.CiphertextDataIntegrityValue.IsEmpty);
    }

    [Fact]
    public async Task Encrypt_OfEmptyPlaintextWithoutAad_RoundTrips()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", []));
        var decrypted = await Client.DecryptAsync(Decrypt("foo", encrypted));

        Assert.True(decrypted.Plaintext.IsEmpty);
        Assert.True(encrypted.Ciphertext.IsEmpty);
    }

    [Fact]
    public async Task Encrypt_OfSpecMinimumSizes_RoundTrips()
    {
        var plaintext = RandomNumberGenerator.GetBytes(4300);
        var aad = RandomNumberGenerator.GetBytes(8192);

        var encrypted = await Client.EncryptAsync(Encrypt("big_key", plaintext, aad));
        var decrypted = await Client.DecryptAsync(Decrypt("big_key", encrypted, aad));

        Assert.Equal(plaintext, decrypted.Plaintext.ToByteArray());
    }

    [Fact]
    public async Task Encrypt_OverConfiguredMaximum_IsUnsupportedOperation()
    {
        await AssertXksError(XksErrorName.UnsupportedOperationException, Client.EncryptAsync(Encrypt("foo", new byte[8193])));
        await AssertXksError(XksErrorName.UnsupportedOperationException, Client.EncryptAsync(Encrypt("foo", [1], new byte[16385])));
    }

    [Fact]
    public async Task Encrypt_ManyTimes_NeverRepeatsAnIv()
    {
        var ivs = new HashSet<string>();
        for (var i = 0; i < 1000; i++)
        {
            var encrypted = await Client.EncryptAsync(Encrypt("foo", [1, 2, 3], cdiv: false));
            Assert.True(ivs.Add(Convert.ToHexString(encrypted.InitializationVector.Span)), "an IV was repeated");
        }
    }

    [Fact]
    public async Task EncryptAndDecrypt_TwoHundredConcurrentRoundTrips_AllReturnTheirPlaintext()
    {
        var tasks = Enumerable.Range(0, 200).Select(async i =>
        {
            var plaintext = RandomNumberGenerator.GetBytes(32 + i);
            var aad = RandomNumberGenerator.GetBytes(i % 50);
            var encrypted = await Client.EncryptAsync(Encrypt("foo", plaintext, aad));
            var decrypted = await Client.DecryptAsync(Decrypt("foo", encrypted, aad));
            return plaintext.AsSpan().SequenceEqual(decrypted.Plaintext.Span);
        });

        var results = await Task.WhenAll(tasks);

        Assert.All(results, Assert.True);
    }

    [Fact]
    public async Task Decrypt_WithWrongAad_IsInvalidCiphertext()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret"u8.ToArray(), Aad));

        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(Decrypt("foo", encrypted, "project=nile"u8.ToArray())));
        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(Decrypt("foo", encrypted)));
    }

    [Fact]
    public async Task Decrypt_WithAadAndMetadataSwapped_IsInvalidCiphertext()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret"u8.ToArray()));
        var swapped = Decrypt("foo", encrypted, aad: encrypted.CiphertextMetadata.ToByteArray());
        swapped.CiphertextMetadata = ByteString.Empty;

        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(swapped));
    }

    [Fact]
    public async Task Decrypt_WithAnyFlippedBit_IsInvalidCiphertext()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret data"u8.ToArray(), Aad));

        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(With(Decrypt("foo", encrypted, Aad), r => r.AuthenticationTag = Flip(r.AuthenticationTag))));
        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(With(Decrypt("foo", encrypted, Aad), r => r.Ciphertext = Flip(r.Ciphertext))));
        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(With(Decrypt("foo", encrypted, Aad), r => r.InitializationVector = Flip(r.InitializationVector))));
        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(With(Decrypt("foo", encrypted, Aad), r => r.CiphertextMetadata = Flip(r.CiphertextMetadata))));
    }

    [Fact]
    public async Task Decrypt_WithSixteenByteIvNotUsedForEncrypt_IsInvalidCiphertext()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret"u8.ToArray()));
        var request = Decrypt("foo", encrypted);
        request.InitializationVector = ByteString.CopyFrom(new byte[16]);

        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(request));
    }

    [Theory]
    [InlineData(8, 16)]
    [InlineData(0, 16)]
    [InlineData(13, 16)]
    [InlineData(12, 12)]
    [InlineData(12, 0)]
    public async Task Decrypt_WithBadIvOrTagLength_IsValidation(int ivLength, int tagLength)
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret"u8.ToArray()));
        var request = Decrypt("foo", encrypted);
        request.InitializationVector = ByteString.CopyFrom(new byte[ivLength]);
        request.AuthenticationTag = ByteString.CopyFrom(new byte[tagLength]);

        await AssertXksError(XksErrorName.ValidationException, Client.DecryptAsync(request));
    }

    [Fact]
    public async Task Decrypt_WithMetadataOverTwentyBytes_IsValidation()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret"u8.ToArray()));
        var request = Decrypt("foo", encrypted);
        request.CiphertextMetadata = ByteString.CopyFrom(new byte[21]);

        await AssertXksError(XksErrorName.ValidationException, Client.DecryptAsync(request));
    }

    [Fact]
    public async Task Decrypt_WithUnknownMetadataScheme_IsInvalidCiphertext()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret"u8.ToArray()));
        var request = Decrypt("foo", encrypted);
        request.CiphertextMetadata = ByteString.CopyFrom([0x02, 0, 0, 0, 1]);

        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(request));
    }

    [Fact]
    public async Task Decrypt_OfCiphertextOverConfiguredMaximum_IsUnsupportedOperation()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret"u8.ToArray()));
        var request = Decrypt("foo", encrypted);
        request.Ciphertext = ByteString.CopyFrom(new byte[8193]);

        await AssertXksError(XksErrorName.UnsupportedOperationException, Client.DecryptAsync(request));
    }

    [Fact]
    public async Task Decrypt_WithAnotherKey_IsInvalidCiphertext()
    {
        var encrypted = await Client.EncryptAsync(Encrypt("foo", "secret"u8.ToArray()));

        await AssertXksError(XksErrorName.InvalidCiphertextException, Client.DecryptAsync(Decrypt("big_key", encrypted)));
    }

    private static T With<T>(T request, Action<T> change)
    {
        change(request);
        return request;
    }

    private static ByteString Flip(ByteString value)
    {
        var bytes = value.ToByteArray();
        bytes[bytes.Length - 1] ^= 0x01;
        return ByteString.CopyFrom(bytes);
    }
}
