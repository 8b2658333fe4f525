using System.Text.Json;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary>Generated credentials and the KMS console file (spec "XKS proxy configuration in AWS KMS console").</summary>
public sealed class CredentialGeneratorTests
{
    [Fact]
    public void Create_MakesASpecValidAccessKeyIdAndA256BitSecret()
    {
        GeneratedCredential credential = CredentialGenerator.Create("/ks1/kms/xks/v1");

        Assert.Equal(26, credential.AccessKeyId.Length);
        Assert.True(CredentialFormat.IsValidAccessKeyId(credential.AccessKeyId));
        Assert.Equal(44, credential.SecretAccessKey.Length);
        Assert.True(CredentialFormat.IsValidSecret(credential.SecretAccessKey));
        Assert.Equal(32, Convert.FromBase64String(credential.SecretAccessKey).Length);
    }

    [Fact]
    public void Create_NeverRepeatsAndUsesTheWholeAlphabet()
    {
        var ids = new HashSet<string>();
        var secrets = new HashSet<string>();
        var seen = new HashSet<char>();
        for (int i = 0; i < 200; i++)
        {
            GeneratedCredential credential = CredentialGenerator.Create("/kms/xks/v1");
            Assert.True(ids.Add(credential.AccessKeyId));
            Assert.True(secrets.Add(credential.SecretAccessKey));
            seen.UnionWith(credential.AccessKeyId);
        }

        Assert.Equal(CredentialGenerator.AccessKeyIdAlphabet.Order(), seen.Order());
    }

    [Fact]
    public void ToKmsConsoleJson_HasExactlyTheConsolesFields()
    {
        GeneratedCredential credential = CredentialGenerator.Create("/keystores/4a0d79d6-1d1b-49fd-9dbe-799cb9c0fb3f/kms/xks/v1");

        string json = credential.ToKmsConsoleJson();

        using JsonDocument document = JsonDocument.Parse(json);
        JsonElement root = document.RootElement;
        Assert.Equal(["XksProxyUriPath", "XksProxyAuthenticationCredential"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(credential.UriPath, root.GetProperty("XksProxyUriPath").GetString());
        JsonElement inner = root.GetProperty("XksProxyAuthenticationCredential");
        Assert.Equal(["AccessKeyId", "RawSecretAccessKey"], inner.EnumerateObject().Select(p => p.Name));
        Assert.Equal(credential.AccessKeyId, inner.GetProperty("AccessKeyId").GetString());
        Assert.Equal(credential.SecretAccessKey, inner.GetProperty("RawSecretAccessKey").GetString());
        Assert.Contains($"\"RawSecretAccessKey\": \"{credential.SecretAccessKey}\"", json, StringComparison.Ordinal); // no \u002B escapes
    }

    [Fact]
    public void ToString_LeavesTheSecretOut()
    {
        GeneratedCredential credential = CredentialGenerator.Create("/kms/xks/v1");

        Assert.DoesNotContain(credential.SecretAccessKey, credential.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(credential.SecretAccessKey, new SigV4Credential(credential.AccessKeyId, "ks1", credential.SecretAccessKey).ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/kms/xks/v1")]
    [InlineData("/ks1/kms/xks/v1")]
    [InlineData("/a_b-C/9/kms/xks/v1")]
    public void ValidateUriPath_AcceptsConsoleValidPaths(string path)
    {
        Assert.Null(CredentialGenerator.ValidateUriPath(path));
    }

    [Theory]
    [InlineData("")]
    [InlineData("kms/xks/v1")]
    [InlineData("/ks1/kms/xks/v2")]
    [InlineData("/ks1/kms/xks/v1/")]
    [InlineData("/ks.1/kms/xks/v1")]
    [InlineData("/ks 1/kms/xks/v1")]
    [InlineData("/ks1//kms/xks/v1")]
    [InlineData("/é/kms/xks/v1")]
    public void ValidateUriPath_RefusesOthers(string path)
    {
        Assert.NotNull(CredentialGenerator.ValidateUriPath(path));
        Assert.Throws<ArgumentException>(() => CredentialGenerator.Create(path));
    }

    [Fact]
    public void ValidateUriPath_AllowsAtMost128Characters()
    {
        string longest = "/" + new string('p', 128 - "/kms/xks/v1".Length - 1) + "/kms/xks/v1";

        Assert.Equal(128, longest.Length);
        Assert.Null(CredentialGenerator.ValidateUriPath(longest));
        Assert.NotNull(CredentialGenerator.ValidateUriPath("/p" + longest));
    }
}
