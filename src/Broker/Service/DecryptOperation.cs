using Google.Protobuf;
using Microsoft.Extensions.Options;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Cryptography;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.Keystores;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Service;

/// <summary>
/// Decrypt (spec, "Decrypt"): IV of 12 or 16 bytes and a 16-byte tag, else ValidationException; the
/// key version named in ciphertextMetadata; any wrong tag, AAD, IV, ciphertext or metadata is
/// InvalidCiphertextException.
/// </summary>
internal sealed class DecryptOperation(Hsm hsm, KeystorePolicy policy, IOptions<BrokerOptions> options)
{
    private readonly LimitsOptions _limits = options.Value.Limits;

    public async Task<DecryptResponse> ExecuteAsync(DecryptRequest request, CancellationToken cancellationToken)
    {
        var key = RequestChecks.Key(request.Key);
        if (request.InitializationVector.Length is not (12 or 16))
        {
            throw XksException.Validation("The initializationVector must be 12 or 16 bytes.");
        }

        if (request.AuthenticationTag.Length != PooledSession.TagBytes)
        {
            throw XksException.Validation("The authenticationTag must be 16 bytes.");
        }

        if (request.CiphertextMetadata.Length > CiphertextMetadata.MaxBytes)
        {
            throw XksException.Validation("The ciphertextMetadata must not exceed 20 bytes.");
        }

        policy.EnsureAllowed(key.Keystore, key.ExternalKeyId);
        if (request.Ciphertext.Length > _limits.MaxPlaintextBytes)
        {
            throw XksException.Unsupported($"The ciphertext is {request.Ciphertext.Length} bytes; this proxy supports at most {_limits.MaxPlaintextBytes}.");
        }

        RequestChecks.Aad(request.AdditionalAuthenticatedData.Length, _limits);

        var ciphertextAndTag = new byte[request.Ciphertext.Length + PooledSession.TagBytes];
        request.Ciphertext.Span.CopyTo(ciphertextAndTag);
        request.AuthenticationTag.Span.CopyTo(ciphertextAndTag.AsSpan(request.Ciphertext.Length));
        var work = new Work(key.ExternalKeyId, request.CiphertextMetadata.ToByteArray(), request.AdditionalAuthenticatedData.Span,
            request.InitializationVector.ToByteArray(), ciphertextAndTag);
        var plaintext = await hsm.RunAsync(HsmOperation.Decrypt, work, static (session, w) => w.Run(session), cancellationToken).ConfigureAwait(false);
        return new DecryptResponse { Plaintext = UnsafeByteOperations.UnsafeWrap(plaintext) };
    }

    private sealed class Work(string keyId, byte[] metadata, ReadOnlySpan<byte> aad, byte[] iv, byte[] ciphertextAndTag)
    {
        private readonly byte[] _framedAad = metadata.Length <= CiphertextMetadata.MaxBytes ? AadFraming.Frame(aad, metadata) : [];

        public byte[] Run(PooledSession session)
        {
            var family = session.FindKey(keyId);
            if (family.Current is null)
            {
                throw XksException.InvalidState($"The key '{keyId}' is disabled.");
            }

            if (!CiphertextMetadata.TryDecode(metadata, out var versionNumber))
            {
                throw XksException.InvalidCiphertext("The ciphertextMetadata was not produced by this proxy.");
            }

            var version = family.Find(versionNumber)
                ?? throw XksException.InvalidCiphertext("The ciphertextMetadata names a key version that does not exist.");
            if (!version.Enabled)
            {
                throw XksException.InvalidState($"The version of key '{keyId}' that made this ciphertext is disabled.");
            }

            if ((version.Usage & KeyUsage.Decrypt) == 0)
            {
                throw XksException.InvalidKeyUsage($"The key '{keyId}' does not allow decryption.");
            }

            return session.TryDecrypt(version, iv, _framedAad, ciphertextAndTag)
                ?? throw XksException.InvalidCiphertext("The ciphertext, IV, AAD, tag or ciphertextMetadata is invalid.");
        }
    }
}
