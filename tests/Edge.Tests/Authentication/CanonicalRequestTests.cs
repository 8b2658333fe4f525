using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary>Canonicalization details beyond what the AWS vectors show.</summary>
public sealed class CanonicalRequestTests
{
    [Theory]
    [InlineData("/ks1/kms/xks/v1/keys/foo/encrypt", "/ks1/kms/xks/v1/keys/foo/encrypt")]
    [InlineData("/kms/xks/v1/keys/Key_1.v2-x~/metadata", "/kms/xks/v1/keys/Key_1.v2-x~/metadata")]
    [InlineData("", "/")]
    [InlineData("/", "/")]
    [InlineData("/a/b/../c/./d/", "/a/c/d/")]
    [InlineData("/a/b/..", "/a/")]
    [InlineData("/../../a", "/a")]
    [InlineData("/a%20b", "/a%2520b")] // encoded as received: already-encoded paths are encoded again (non-S3 rule)
    [InlineData("/a b+c=d", "/a%20b%2Bc%3Dd")]
    [InlineData("/é", "/%C3%A9")]
    public void CanonicalUri_OfARawPath_IsNormalizedAndUriEncoded(string rawPath, string expected)
    {
        Assert.Equal(expected, Canonical(rawPath, string.Empty).Split('\n')[1]);
    }

    [Theory]
    [InlineData("/ks1/kms/xks/v1/keys/foo/encrypt", false)] // the hot path: one form, one HMAC
    [InlineData("/kms/xks/v1/keys/Key_1.v2-x~/metadata", false)]
    [InlineData("/ks1/kms/xks/v1/keys/f%C3%A9/metadata", true)]
    [InlineData("/ks1/kms/xks/v1/keys/f:o/metadata", true)]
    [InlineData("/ks1/kms/xks/v1/keys/a%2541/metadata", false)] // as sent it is the encoded form of /keys/a%41/
    [InlineData("/ks1/kms/xks/v1/keys/a%25/metadata", false)]
    public void AsSentForm_IsTriedOnlyWhenItDiffers_AndCannotBeAnotherPathsEncodedForm(string rawPath, bool expected)
    {
        Assert.Equal(expected, CanonicalRequest.HasDistinctAsSentForm(rawPath));
    }

    [Fact]
    public void CanonicalUri_OfALoneSurrogate_EncodesTheReplacementCharacterInsteadOfThrowing()
    {
        Assert.Equal("/%EF%BF%BD", Canonical("/" + (char)0xD800, string.Empty).Split('\n')[1]);
    }

    [Theory]
    [InlineData("", "")]
    [InlineData("b=2&a=1", "a=1&b=2")]
    [InlineData("a=2&a=1", "a=1&a=2")]
    [InlineData("flag", "flag=")]
    [InlineData("a=%7e&b=~", "a=~&b=~")]
    [InlineData("a=%2f&c=/", "a=%2F&c=%2F")]
    [InlineData("a+b=c d", "a%2Bb=c%20d")]
    [InlineData("bad=%zz", "bad=%25zz")]
    [InlineData("&&a=1&", "a=1")]
    public void CanonicalQueryString_OfARawQuery_IsDecodedReencodedAndSorted(string rawQuery, string expected)
    {
        Assert.Equal(expected, Canonical("/", rawQuery).Split('\n')[2]);
    }

    [Fact]
    public void CanonicalHeaders_TrimCollapseAndJoinValues_InSignedHeadersOrder()
    {
        IHeaderDictionary headers = new HeaderDictionary();
        headers.Host = "xks.example.com:8443";
        headers["X-Amz-Date"] = "20260314T092653Z";
        headers["X-Multi"] = new StringValues(["  a \t  b ", "c", "", " d,e "]);

        string canonical = CanonicalRequest.Format(new SigV4Request("POST", "/", string.Empty, headers, ReadOnlyMemory<byte>.Empty), "host;x-amz-date;x-multi");

        Assert.Equal(
            "POST\n/\n\nhost:xks.example.com:8443\nx-amz-date:20260314T092653Z\nx-multi:a b,c,,d,e\n\nhost;x-amz-date;x-multi\n"
            + "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            canonical);
    }

    private static string Canonical(string rawPath, string rawQuery)
    {
        IHeaderDictionary headers = new HeaderDictionary();
        headers.Host = "h";
        return CanonicalRequest.Format(new SigV4Request("GET", rawPath, rawQuery, headers, ReadOnlyMemory<byte>.Empty), "host");
    }
}
