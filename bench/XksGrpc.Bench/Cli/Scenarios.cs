namespace XksGrpc.Bench.Cli;

/// <summary>The scenario names the generator knows.</summary>
internal static class Scenarios
{
    public const string Metadata = "metadata";
    public const string Encrypt = "encrypt";
    public const string EncryptCdiv = "encrypt-cdiv";
    public const string Decrypt = "decrypt";
    public const string Mix = "mix";

    public static readonly IReadOnlyList<string> Names = [Metadata, Encrypt, EncryptCdiv, Decrypt, Mix];

    /// <summary>
    /// The mix: weights per request out of 20, roughly KMS's traffic for an envelope-encryption
    /// workload (data keys generated and decrypted, a few plain encrypts and DescribeKey calls).
    /// </summary>
    public static readonly IReadOnlyList<(string Scenario, int Weight)> MixWeights =
    [
        (EncryptCdiv, 8),
        (Decrypt, 10),
        (Encrypt, 1),
        (Metadata, 1),
    ];
}
