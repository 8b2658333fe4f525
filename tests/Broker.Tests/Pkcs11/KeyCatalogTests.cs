using XksGrpc.Broker.Pkcs11;

namespace XksGrpc.Broker.Tests.Pkcs11;

public sealed class KeyCatalogTests
{
    [Theory]
    [InlineData("foo", "foo", 1u)]
    [InlineData("foo#2", "foo", 2u)]
    [InlineData("foo.bar-1_x#17", "foo.bar-1_x", 17u)]
    public void TryParseLabel_OfVersionedLabels_NamesKeyAndVersion(string label, string id, uint version)
    {
        Assert.True(KeyCatalog.TryParseLabel(label, out var parsedId, out var parsedVersion));
        Assert.Equal(id, parsedId);
        Assert.Equal(version, parsedVersion);
    }

    [Theory]
    [InlineData("foo#1")]
    [InlineData("foo#0")]
    [InlineData("foo#02")]
    [InlineData("foo#x")]
    [InlineData("#2")]
    [InlineData("a#b#2")]
    [InlineData("")]
    public void TryParseLabel_OfOtherLabels_Fails(string label)
    {
        Assert.False(KeyCatalog.TryParseLabel(label, out _, out _));
    }
}
