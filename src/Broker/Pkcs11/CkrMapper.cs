using Net.Pkcs11Interop.Common;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>What a PKCS#11 failure says about the HSM, beyond the one request.</summary>
internal enum HsmFault
{
    /// <summary>Only this request failed; the session is fine.</summary>
    Request,

    /// <summary>The key handle is stale (key deleted or token re-read): reload the catalog and retry once.</summary>
    StaleHandle,

    /// <summary>The token, its login or the session is gone: drop the token's sessions and reconnect.</summary>
    Token,

    /// <summary>The module is no longer initialized: load and initialize it again, then reconnect every token.</summary>
    Module,
}

/// <summary>Which HSM call failed; the same CKR can mean different things for each.</summary>
internal enum HsmCall
{
    Encrypt,
    Decrypt,
    Random,
    Other,
}

/// <summary>
/// The one mapping from PKCS#11 return codes to XKS errors (spec, "Error codes"), with each vendor
/// quirk commented. Messages are safe: they name the CKR, never data.
/// </summary>
internal static class CkrMapper
{
    public readonly record struct Mapping(HsmFault Fault, XksErrorName Error, string Message);

    public static Mapping Map(CKR rv, HsmCall call)
    {
        switch (rv)
        {
            case CKR.CKR_CRYPTOKI_NOT_INITIALIZED:
                return new(HsmFault.Module, XksErrorName.InternalException, "The HSM module is not initialized; the broker is reconnecting.");

            case CKR.CKR_DEVICE_REMOVED:
            case CKR.CKR_DEVICE_ERROR:
            case CKR.CKR_TOKEN_NOT_PRESENT:
            case CKR.CKR_TOKEN_NOT_RECOGNIZED:
            case CKR.CKR_USER_NOT_LOGGED_IN:
            case CKR.CKR_SESSION_HANDLE_INVALID:
            case CKR.CKR_SESSION_CLOSED:
            case CKR.CKR_SESSION_COUNT:
            case CKR.CKR_PIN_EXPIRED:
            case CKR.CKR_PIN_INCORRECT:
            case CKR.CKR_PIN_LOCKED:
            // An operation left active on a pooled session means the session's state is unknown.
            case CKR.CKR_OPERATION_ACTIVE:
            case CKR.CKR_OPERATION_NOT_INITIALIZED:
                return new(HsmFault.Token, XksErrorName.InternalException, $"The HSM failed ({rv}); the broker is reconnecting.");

            case CKR.CKR_OBJECT_HANDLE_INVALID:
            case CKR.CKR_KEY_HANDLE_INVALID:
                return new(HsmFault.StaleHandle, XksErrorName.KeyNotFoundException, "The key is no longer in the HSM.");

            case CKR.CKR_KEY_FUNCTION_NOT_PERMITTED:
                return new(HsmFault.Request, XksErrorName.InvalidKeyUsageException,
                    call == HsmCall.Decrypt ? "The key does not allow decryption." : "The key does not allow encryption.");

            case CKR.CKR_ENCRYPTED_DATA_INVALID:
            case CKR.CKR_ENCRYPTED_DATA_LEN_RANGE:
            case CKR.CKR_GENERAL_ERROR when call == HsmCall.Decrypt: // SoftHSM quirk, see IsAuthenticationFailure
                return call == HsmCall.Decrypt
                    ? new(HsmFault.Request, XksErrorName.InvalidCiphertextException, "The ciphertext, IV, AAD, tag or ciphertextMetadata is invalid.")
                    : new(HsmFault.Request, XksErrorName.InternalException, $"The HSM failed ({rv}).");

            // A 16-byte IV an HSM refuses cannot have come from an encrypt with this key.
            case CKR.CKR_MECHANISM_PARAM_INVALID when call == HsmCall.Decrypt:
                return new(HsmFault.Request, XksErrorName.InvalidCiphertextException, "The HSM refused the initialization vector.");

            case CKR.CKR_DATA_LEN_RANGE when call == HsmCall.Encrypt:
                return new(HsmFault.Request, XksErrorName.UnsupportedOperationException, "The HSM does not support a plaintext of this size.");

            case CKR.CKR_DEVICE_MEMORY:
            case CKR.CKR_HOST_MEMORY:
            case CKR.CKR_FUNCTION_CANCELED:
                return new(HsmFault.Request, XksErrorName.InternalException, $"The HSM failed ({rv}).");

            default:
                return new(HsmFault.Request, XksErrorName.InternalException, $"The HSM failed ({rv}).");
        }
    }

    /// <summary>
    /// A decrypt whose tag did not verify. CKR_ENCRYPTED_DATA_INVALID is the standard answer;
    /// CKR_ENCRYPTED_DATA_LEN_RANGE comes from modules (SoftHSM among them) for a ciphertext shorter
    /// than the tag. Vendor quirk: SoftHSM 2.6 answers CKR_GENERAL_ERROR for every failed AES-GCM
    /// decrypt (wrong tag, wrong IV, short input), so on a decrypt it counts as a failed tag too.
    /// </summary>
    public static bool IsAuthenticationFailure(CKR rv) =>
        rv is CKR.CKR_ENCRYPTED_DATA_INVALID or CKR.CKR_ENCRYPTED_DATA_LEN_RANGE or CKR.CKR_GENERAL_ERROR;
}
