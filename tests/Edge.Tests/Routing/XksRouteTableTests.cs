using XksGrpc.Broker.V1;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Routing;

namespace XksGrpc.Edge.Tests.Routing;

public sealed class XksRouteTableTests
{
    private static readonly XksRouteTable Table = new(
    [
        new KeystoreOptions { Name = "a", PathPrefix = "/a" },
        new KeystoreOptions { Name = "ab", PathPrefix = "/a/b" },
        new KeystoreOptions { Name = "root", PathPrefix = "" },
    ]);

    [Theory]
    [InlineData("/a/kms/xks/v1/health", "a", "GetHealthStatus", "")]
    [InlineData("/a/kms/xks/v1/keys/foo/metadata", "a", "GetKeyMetadata", "foo")]
    [InlineData("/a/kms/xks/v1/keys/foo/encrypt", "a", "Encrypt", "foo")]
    [InlineData("/a/kms/xks/v1/keys/foo/decrypt", "a", "Decrypt", "foo")]
    [InlineData("/a/b/kms/xks/v1/keys/k.1_x-y/encrypt", "ab", "Encrypt", "k.1_x-y")]
    [InlineData("/kms/xks/v1/health", "root", "GetHealthStatus", "")]
    [InlineData("//kms/xks/v1/keys/foo/encrypt", "root", "Encrypt", "foo")]
    public void Classify_XksUri_FindsKeystoreApiAndKey(string path, string keystore, string api, string keyId)
    {
        var failure = Table.TryClassify(path, out var route);

        Assert.Null(failure);
        Assert.Equal(keystore, route.Keystore.Name);
        Assert.Equal(Enum.Parse<XksApi>(api), route.Api);
        Assert.Equal(keyId, route.KeyId);
        Assert.True(route.KeyIdValid);
    }

    [Theory]
    [InlineData("/a/invalid/kms/xks/v1/health")]
    [InlineData("/c/kms/xks/v1/health")]
    [InlineData("/a/kms/xks/v1/health/")]
    [InlineData("/a/kms/xks/v1/healthz")]
    [InlineData("/a/kms/xks/v1/keys/foo/sign")]
    [InlineData("/a/kms/xks/v1/keys//encrypt")]
    [InlineData("/a/kms/xks/v1/keys/a/b/encrypt")]
    [InlineData("/a/kms/xks/v1/keys/foo")]
    [InlineData("/a/kms/xks/v1/")]
    [InlineData("/a/kms/xks/v2/health")]
    [InlineData("/A/kms/xks/v1/health")]
    [InlineData("")]
    public void Classify_OtherPath_IsInvalidUriPath(string path)
    {
        var failure = Table.TryClassify(path, out _);

        Assert.Equal(XksErrorName.InvalidUriPathException, failure?.Name);
    }

    [Fact]
    public void KeyId_Of128Characters_IsValid_And129IsNot()
    {
        Assert.True(XksRouteTable.IsValidKeyId(new string('k', 128)));
        Assert.False(XksRouteTable.IsValidKeyId(new string('k', 129)));
    }

    [Theory]
    [InlineData("a b")]
    [InlineData("a~b")]
    [InlineData("a%2Fb")]
    [InlineData("ключ")]
    [InlineData("a:b")]
    public void KeyId_OutsideTheSpecAlphabet_IsRoutedButMarkedInvalid(string keyId)
    {
        var failure = Table.TryClassify($"/a/kms/xks/v1/keys/{keyId}/encrypt", out var route);

        Assert.Null(failure);
        Assert.False(route.KeyIdValid);
    }
}
