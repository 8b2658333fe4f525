using XksGrpc.Edge.Authorization;

namespace XksGrpc.Edge.Tests.Authorization;

public sealed class KmsKeyArnTests
{
    [Theory]
    [InlineData("arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", "aws", "us-east-1", "123456789012", "1234abcd-12ab-34cd-56ef-1234567890ab")]
    [InlineData("arn:aws:kms:us-east-2:123456789012:/key/1234abcd-12ab-34cd-56ef-1234567890ab", "aws", "us-east-2", "123456789012", "1234abcd-12ab-34cd-56ef-1234567890ab")]
    [InlineData("arn:aws-cn:kms:cn-north-1:111122223333:key/k1", "aws-cn", "cn-north-1", "111122223333", "k1")]
    public void TryParse_OnKeyArn_ReturnsItsParts(string arn, string partition, string region, string account, string keyId)
    {
        Assert.True(KmsKeyArn.TryParse(arn, out KmsKeyArn? parsed));
        Assert.Equal(new KmsKeyArn(partition, region, account, keyId), parsed);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("not an arn")]
    [InlineData("arn:aws:kms:us-east-1:123456789012:alias/my-alias")]
    [InlineData("arn:aws:s3:us-east-1:123456789012:key/k1")]
    [InlineData("arn:aws:kms::123456789012:key/k1")]
    [InlineData("arn:aws:kms:us-east-1::key/k1")]
    [InlineData("arn:aws:kms:us-east-1:123456789012:key/")]
    [InlineData("arn:aws:kms:us-east-1:123456789012")]
    public void TryParse_OnAnythingElse_Fails(string? arn)
    {
        Assert.False(KmsKeyArn.TryParse(arn, out _));
    }
}
