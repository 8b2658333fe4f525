namespace XksGrpc.Broker.Pkcs11;

/// <summary>The fixed names of what the broker does on an HSM session (the <c>hsm.operation</c> metric tag).</summary>
internal static class HsmOperation
{
    public const string Encrypt = "encrypt";
    public const string Decrypt = "decrypt";
    public const string KeyMetadata = "key_metadata";
    public const string HealthCheck = "health_check";
}
