using Google.Protobuf;
using Grpc.Core;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Tests.Infrastructure;

/// <summary>Request builders and error assertions shared by the broker tests.</summary>
internal static class Requests
{
    public static RequestMetadata Metadata(string operation = "Encrypt") => new()
    {
        AwsPrincipalArn = "arn:aws:iam::123456789012:user/Alice",
        KmsOperation = operation,
        KmsRequestId = Guid.NewGuid().ToString(),
        KmsKeyArn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    };

    public static KeyReference Key(string id, string keystore = "ks1") => new() { Keystore = keystore, ExternalKeyId = id };

    public static EncryptRequest Encrypt(string key, byte[] plaintext, byte[]? aad = null, bool cdiv = true, string keystore = "ks1") => new()
    {
        Key = Key(key, keystore),
        RequestMetadata = Metadata(),
        Plaintext = ByteString.CopyFrom(plaintext),
        AdditionalAuthenticatedData = aad is null ? ByteString.Empty : ByteString.CopyFrom(aad),
        CdivAlgorithm = cdiv ? CdivAlgorithm.Sha256 : CdivAlgorithm.None,
    };

    public static DecryptRequest Decrypt(string key, EncryptResponse encrypted, byte[]? aad = null, string keystore = "ks1") => new()
    {
        Key = Key(key, keystore),
        RequestMetadata = Metadata("Decrypt"),
        Ciphertext = encrypted.Ciphertext,
        CiphertextMetadata = encrypted.CiphertextMetadata,
        AdditionalAuthenticatedData = aad is null ? ByteString.Empty : ByteString.CopyFrom(aad),
        InitializationVector = encrypted.InitializationVector,
        AuthenticationTag = encrypted.AuthenticationTag,
    };

    public static GetKeyMetadataRequest KeyMetadata(string key, string keystore = "ks1") => new()
    {
        Key = Key(key, keystore),
        RequestMetadata = Metadata("DescribeKey"),
    };

    /// <summary>The call fails with <paramref name="expected"/> as a packed XksError and the matching gRPC code.</summary>
    public static async Task<XksError> AssertXksError(XksErrorName expected, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        var status = e.GetRpcStatus();
        Assert.NotNull(status);
        Assert.Single(status.Details);
        var detail = status.GetDetail<XksError>();
        Assert.NotNull(detail);
        Assert.Equal(expected, detail.Name);
        Assert.Equal(XksErrors.ToStatusCode(expected), e.StatusCode);
        Assert.True(detail.Message.Length is > 0 and < 512);
        Assert.All(detail.Message, c => Assert.InRange(c, ' ', '~'));
        return detail;
    }

    public static Task<XksError> AssertXksError<T>(XksErrorName expected, AsyncUnaryCall<T> call) =>
        AssertXksError(expected, async () => await call);
}
