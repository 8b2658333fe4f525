using XksGrpc.Broker.Cryptography;

namespace XksGrpc.Broker.Tests.Cryptography;

public sealed class AadFramingTests
{
    [Fact]
    public void Frame_PrefixesTwoByteBigEndianAadLengthAndOneByteMetadataLength()
    {
        var aad = new byte[300];
        aad[0] = 0xAA;
        aad[299] = 0xBB;
        var metadata = new byte[] { 0x01, 0x00, 0x00, 0x00, 0x02 };

        var framed = AadFraming.Frame(aad, metadata);

        Assert.Equal(2 + 300 + 1 + 5, framed.Length);
        Assert.Equal(0x01, framed[0]); // 300 = 0x012C, big-endian
        Assert.Equal(0x2C, framed[1]);
        Assert.Equal(0xAA, framed[2]);
        Assert.Equal(0xBB, framed[301]);
        Assert.Equal(5, framed[302]);
        Assert.Equal(metadata, framed[303..]);
    }

    [Fact]
    public void Frame_WithNoAadAndNoMetadata_IsThreeZeroBytes()
    {
        Assert.Equal(new byte[] { 0, 0, 0 }, AadFraming.Frame([], []));
    }

    [Fact]
    public void Frame_OfAadAndMetadataSwapped_Differs()
    {
        var metadata = CiphertextMetadata.Encode(1);

        var original = AadFraming.Frame([], metadata);
        var swapped = AadFraming.Frame(metadata, []);

        Assert.NotEqual(original, swapped);
        Assert.Equal(new byte[] { 0, 0, 5, 1, 0, 0, 0, 1 }, original);
        Assert.Equal(new byte[] { 0, 5, 1, 0, 0, 0, 1, 0 }, swapped);
    }

    [Fact]
    public void Frame_WithMetadataOverTwentyBytes_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => AadFraming.Frame([], new byte[21]));
    }
}
