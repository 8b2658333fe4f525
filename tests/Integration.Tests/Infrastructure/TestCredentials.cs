using System.Security.Cryptography;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>A SigV4 credential of the test configuration.</summary>
internal sealed record TestCredential(string Keystore, string AccessKeyId, string Secret)
{
    public static TestCredential Create(string keystore, string accessKeyId)
        => new(keystore, accessKeyId, Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)));
}
