using XksGrpc.Edge.Configuration;

namespace XksGrpc.Edge.Validation;

/// <summary>The size limits validation enforces (Edge:Limits; never below the spec's minima).</summary>
internal sealed record XksLimits(int MaxPlaintextBytes, int MaxAadBytes, int MaxRequestBodyBytes)
{
    /// <summary>Spec: the XKS proxy MUST support ARNs of up to 2048 characters.</summary>
    public const int MaxArnLength = 2048;

    /// <summary>Spec: ciphertextMetadata MUST NOT exceed 20 bytes.</summary>
    public const int MaxCiphertextMetadataBytes = 20;

    /// <summary>Spec: the authentication tag is 16 bytes.</summary>
    public const int TagBytes = 16;

    public static XksLimits From(EdgeLimitsOptions options)
        => new(options.MaxPlaintextBytes, options.MaxAadBytes, options.MaxRequestBodyBytes);
}
