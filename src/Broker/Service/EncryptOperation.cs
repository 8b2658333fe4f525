using System.Security.Cryptography;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Cryptography;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.Keystores;
using XksGrpc.Broker.Logging;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Service;

/// <summary>
/// Encrypt (spec, "Encrypt"): AES-256-GCM in the HSM with a 96-bit IV from the token's RNG, the AAD
/// framed as len16(aad)||aad||len8(md)||md, and the key version named in ciphertextMetadata. With a
/// CDIV, exactly Appendix C's order: encrypt, compute the CDIV, verify by an HSM decrypt, then answer;
/// a failed verification is retried once, then InternalException.
/// </summary>
internal sealed class EncryptOperation(Hsm hsm, KeystorePolicy policy, IOptions<BrokerOptions> options, ILogger<EncryptOperation> logger)
{
    private readonly LimitsOptions _limits = options.Value.Limits;
    private readonly OperationsOptions _operations = options.Value.Operations;

    public async Task<EncryptResponse> ExecuteAsync(EncryptRequest request, string kmsRequestId, CancellationToken cancellationToken)
    {
        var key = RequestChecks.Key(request.Key);
        policy.EnsureAllowed(key.Keystore, key.ExternalKeyId);
        if (request.Plaintext.Length > _limits.MaxPlaintextBytes)
        {
            throw XksException.Unsupported($"The plaintext is {request.Plaintext.Length} bytes; this proxy supports at most {_limits.MaxPlaintextBytes}.");
        }

        RequestChecks.Aad(request.AdditionalAuthenticatedData.Length, _limits);
        var cdiv = request.CdivAlgorithm switch
        {
            CdivAlgorithm.None => false,
            CdivAlgorithm.Sha256 => true,
            _ => throw XksException.Validation("The ciphertextDataIntegrityValueAlgorithm must be SHA_256."),
        };

        var work = new Work(key.ExternalKeyId, request.Plaintext.ToByteArray(), request.AdditionalAuthenticatedData.ToByteArray(),
            cdiv, _operations, kmsRequestId, logger);
        try
        {
            return await hsm.RunAsync(HsmOperation.Encrypt, work, static (session, w) => w.Run(session), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(work.Plaintext);
        }
    }

    private sealed class Work(string keyId, byte[] plaintext, byte[] aad, bool cdiv, OperationsOptions operations, string kmsRequestId, ILogger logger)
    {
        public byte[] Plaintext { get; } = plaintext;

        public EncryptResponse Run(PooledSession session)
        {
            var family = session.FindKey(keyId);
            var version = family.Current ?? throw XksException.InvalidState($"The key '{keyId}' is disabled.");
            if ((version.Usage & KeyUsage.Encrypt) == 0)
            {
                throw XksException.InvalidKeyUsage($"The key '{keyId}' does not allow encryption.");
            }

            var verify = cdiv || operations.VerifyEveryEncrypt;
            if (verify && (version.Usage & KeyUsage.Decrypt) == 0)
            {
                if (cdiv && !operations.AllowUnverifiedCdiv)
                {
                    throw XksException.InvalidKeyUsage(
                        $"The key '{keyId}' does not allow decryption, so the ciphertext data integrity value cannot be verified by the HSM (spec Appendix C).");
                }

                verify = false;
            }

            var metadata = version.Metadata;
            var framedAad = AadFraming.Frame(aad, metadata);
            for (var attempt = 1; attempt <= 2; attempt++)
            {
                // Appendix C step 1: encrypt.
                var iv = session.GenerateIv();
                var ciphertextAndTag = session.Encrypt(version, iv, framedAad, Plaintext);
                var ciphertextLength = ciphertextAndTag.Length - PooledSession.TagBytes;
                if (ciphertextLength != Plaintext.Length)
                {
                    throw XksException.Internal("The HSM returned a ciphertext of unexpected length.");
                }

                var ciphertext = ciphertextAndTag.AsMemory(0, ciphertextLength);
                var tag = ciphertextAndTag.AsMemory(ciphertextLength);

                // Step 2: the CDIV, before the verifying decrypt.
                var cdivValue = cdiv ? Cdiv.ComputeSha256(aad, metadata, iv, ciphertext.Span, tag.Span) : null;

                // Step 3: decrypt the very bytes that will be returned.
                if (verify)
                {
                    var roundTrip = session.TryDecrypt(version, iv, framedAad, ciphertextAndTag);
                    var ok = roundTrip is not null && CryptographicOperations.FixedTimeEquals(roundTrip, Plaintext);
                    if (roundTrip is not null)
                    {
                        CryptographicOperations.ZeroMemory(roundTrip);
                    }

                    if (!ok)
                    {
                        BrokerLog.EncryptVerificationFailed(logger, kmsRequestId, keyId, attempt, attempt == 1 ? "retrying" : "answering InternalException");
                        continue;
                    }
                }

                // Step 4: answer.
                var response = new EncryptResponse
                {
                    Ciphertext = UnsafeByteOperations.UnsafeWrap(ciphertext),
                    AuthenticationTag = UnsafeByteOperations.UnsafeWrap(tag),
                    InitializationVector = UnsafeByteOperations.UnsafeWrap(iv),
                    CiphertextMetadata = UnsafeByteOperations.UnsafeWrap(metadata),
                };
                if (cdivValue is not null)
                {
                    response.CiphertextDataIntegrityValue = UnsafeByteOperations.UnsafeWrap(cdivValue);
                }

                return response;
            }

            throw XksException.Internal("The HSM could not decrypt the ciphertext it produced; no ciphertext was returned.");
        }
    }
}
