using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Service;

/// <summary>Checks shared by the keyed operations (spec, "API operations").</summary>
internal static class RequestChecks
{
    /// <summary>The key reference, or ValidationException.</summary>
    public static KeyReference Key(KeyReference? key)
    {
        if (key is null || string.IsNullOrEmpty(key.Keystore))
        {
            throw XksException.Validation("The request names no keystore.");
        }

        if (!KeystoresValidator.IsExternalKeyId(key.ExternalKeyId))
        {
            throw XksException.Validation("The externalKeyId must be 1-128 characters of [A-Za-z0-9._-].");
        }

        return key;
    }

    /// <summary>AAD within the configured maximum (at least the spec's 8192 bytes), else UnsupportedOperation.</summary>
    public static void Aad(int length, LimitsOptions limits)
    {
        if (length > limits.MaxAadBytes)
        {
            throw XksException.Unsupported($"The additionalAuthenticatedData is {length} bytes; this proxy supports at most {limits.MaxAadBytes}.");
        }
    }
}
