using XksGrpc.Broker.Errors;
using XksGrpc.Broker.Keystores;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Service;

/// <summary>
/// GetKeyMetadata (spec, "GetKeyMetadata"): keySpec AES_256, keyUsage from the PKCS#11 attributes of
/// the version Encrypt would use, keyStatus DISABLED when no version is enabled.
/// </summary>
internal sealed class GetKeyMetadataOperation(Hsm hsm, KeystorePolicy policy)
{
    public async Task<GetKeyMetadataResponse> ExecuteAsync(GetKeyMetadataRequest request, CancellationToken cancellationToken)
    {
        var key = RequestChecks.Key(request.Key);
        policy.EnsureAllowed(key.Keystore, key.ExternalKeyId);
        return await hsm.RunAsync(HsmOperation.KeyMetadata, key.ExternalKeyId, static (session, keyId) =>
        {
            var family = session.FindKey(keyId);
            var current = family.Current;
            var response = new GetKeyMetadataResponse
            {
                KeySpec = "AES_256",
                KeyStatus = current is null ? KeyStatus.Disabled : KeyStatus.Enabled,
            };
            response.KeyUsage.AddRange(KeyUsageNames.ToNames((current ?? family.Latest).Usage));
            return response;
        }, cancellationToken).ConfigureAwait(false);
    }
}
