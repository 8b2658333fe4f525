using XksGrpc.Edge.Authorization;

namespace XksGrpc.Edge.Tests.Authorization;

public sealed class GlobPatternTests
{
    [Theory]
    [InlineData("foo", "foo", true)]
    [InlineData("foo", "Foo", false)]
    [InlineData("foo", "foo2", false)]
    [InlineData("bar-*", "bar-", true)]
    [InlineData("bar-*", "bar-1", true)]
    [InlineData("bar-*", "bar", false)]
    [InlineData("*", "", true)]
    [InlineData("*", "anything", true)]
    [InlineData("**", "anything", true)]
    [InlineData("?", "a", true)]
    [InlineData("?", "", false)]
    [InlineData("?", "ab", false)]
    [InlineData("ebs.*", "ebs.amazonaws.com", true)]
    [InlineData("*.amazonaws.com", "ebs.amazonaws.com", true)]
    [InlineData("*.amazonaws.com", "ebs.amazonaws.com.evil", false)]
    [InlineData("arn:aws:iam::123456789012:role/*", "arn:aws:iam::123456789012:role/Admin", true)]
    [InlineData("arn:aws:iam::123456789012:role/*", "arn:aws:iam::210987654321:role/Admin", false)]
    [InlineData("arn:aws:iam::*:role/Reader", "arn:aws:iam::123456789012:role/Reader", true)]
    [InlineData("arn:aws:iam::*:role/Reader", "arn:aws:iam::123456789012:role/ReaderX", false)]
    [InlineData("a*b*c", "abc", true)]
    [InlineData("a*b*c", "aXXbYYc", true)]
    [InlineData("a*b*c", "aXXbYY", false)]
    [InlineData("a*b?c", "a-b-c", true)]
    [InlineData("a*b?c", "abbbc", true)]
    [InlineData("vpce-????", "vpce-1a2b", true)]
    [InlineData("vpce-????", "vpce-1a2", false)]
    [InlineData("GenerateDataKey*", "GenerateDataKeyWithoutPlaintext", true)]
    [InlineData("GenerateDataKey*", "generatedatakey", false)]
    public void IsMatch_FollowsGlobSemantics_CaseSensitively(string pattern, string value, bool expected)
    {
        Assert.Equal(expected, GlobPattern.Compile(pattern).IsMatch(value));
    }

    [Fact]
    public void IsMatch_OnPathologicalPattern_StaysFast()
    {
        var pattern = GlobPattern.Compile(string.Concat(Enumerable.Repeat("a*", 30)) + "b");
        string value = new('a', 4000);
        var watch = System.Diagnostics.Stopwatch.StartNew();
        Assert.False(pattern.IsMatch(value));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(1), $"took {watch.Elapsed}");
    }
}
