using XksGrpc.Broker.Cryptography;

namespace XksGrpc.Broker.Tests.Cryptography;

public sealed class CdivTests
{
    /// <summary>Spec Appendix C, reproduced byte for byte.</summary>
    [Fact]
    public void ComputeSha256_OnAppendixCExample_MatchesTheSpec()
    {
        var aad = Convert.FromHexString("70726f6a6563743d6e696c652c6465706172746d656e743d6d61726b6574696e67");
        var metadata = Convert.FromHexString("6b65795f76657273696f6e3d31");
        var iv = Convert.FromHexString("1ccae5470f39700254779031");
        var ciphertext = Convert.FromHexString("821c642b5b71783367deaf18");
        var tag = Convert.FromHexString("bc1c4dda7707d6812447c5955e99b261");

        Assert.Equal("project=nile,department=marketing", System.Text.Encoding.ASCII.GetString(aad));
        Assert.Equal("key_version=1", System.Text.Encoding.ASCII.GetString(metadata));

        var cdiv = Cdiv.ComputeSha256(aad, metadata, iv, ciphertext, tag);

        Assert.Equal("a8703f2260bd8791ec2d15ea0b23e65a0631eedcf2a13a65cc82db3f47cf5ec7", Convert.ToHexStringLower(cdiv));
        Assert.Equal("qHA/ImC9h5HsLRXqCyPmWgYx7tzyoTplzILbP0fPXsc=", Convert.ToBase64String(cdiv));
    }

    [Fact]
    public void ComputeSha256_WithAbsentFields_HashesTheConcatenationOfThePresentOnes()
    {
        var iv = new byte[12];
        var ciphertext = new byte[] { 1, 2, 3 };
        var tag = new byte[16];

        var cdiv = Cdiv.ComputeSha256([], [], iv, ciphertext, tag);

        Assert.Equal(System.Security.Cryptography.SHA256.HashData([.. iv, .. ciphertext, .. tag]), cdiv);
    }
}
