using XksGrpc.Broker.Cryptography;

namespace XksGrpc.Broker.Tests.Cryptography;

public sealed class CiphertextMetadataTests
{
    [Fact]
    public void Encode_IsSchemeOneThenVersionBigEndian()
    {
        Assert.Equal(new byte[] { 0x01, 0x00, 0x00, 0x01, 0x02 }, CiphertextMetadata.Encode(258));
    }

    [Theory]
    [InlineData(1u)]
    [InlineData(2u)]
    [InlineData(uint.MaxValue)]
    public void TryDecode_OfEncoded_ReturnsTheVersion(uint version)
    {
        Assert.True(CiphertextMetadata.TryDecode(CiphertextMetadata.Encode(version), out var decoded));
        Assert.Equal(version, decoded);
    }

    [Theory]
    [InlineData("")]
    [InlineData("01000001")]
    [InlineData("0100000001ff")]
    [InlineData("0200000001")]
    [InlineData("0100000000")]
    public void TryDecode_OfForeignMetadata_Fails(string hex)
    {
        Assert.False(CiphertextMetadata.TryDecode(Convert.FromHexString(hex), out _));
    }
}
