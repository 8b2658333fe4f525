using System.Text;
using XksGrpc.Edge.Validation;

namespace XksGrpc.Edge.Tests.Validation;

public sealed class StrictBase64Tests
{
    [Theory]
    [InlineData("", 0)]
    [InlineData("AA==", 1)]
    [InlineData("AAA=", 2)]
    [InlineData("AAAA", 3)]
    [InlineData("SGVsbG8gV29ybGQh", 12)]
    [InlineData("+/+/", 3)]
    public void DecodedLength_OfStandardBase64_IsItsByteCount(string text, int expected)
        => Assert.Equal(expected, StrictBase64.DecodedLength(Encoding.ASCII.GetBytes(text)));

    [Theory]
    [InlineData("AA")]          // missing padding
    [InlineData("AAA")]
    [InlineData("AA=A")]        // padding inside
    [InlineData("A===")]
    [InlineData("====")]
    [InlineData("-_-_")]        // URL-safe alphabet
    [InlineData("AA A")]        // whitespace
    [InlineData("AAAA\n")]
    [InlineData("AAA\r")]
    [InlineData("AB==")]        // non-zero unused bits (not canonical)
    [InlineData("AAB=")]
    [InlineData("AA*A")]
    public void DecodedLength_OfAnythingElse_IsMinusOne(string text)
        => Assert.Equal(-1, StrictBase64.DecodedLength(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void TryDecode_RoundTripsEveryLength()
    {
        for (var length = 0; length < 70; length++)
        {
            var bytes = new byte[length];
            Random.Shared.NextBytes(bytes);
            Assert.Equal(bytes, StrictBase64.TryDecode(Encoding.ASCII.GetBytes(Convert.ToBase64String(bytes))));
        }
    }
}
