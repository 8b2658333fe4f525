namespace XksGrpc.Edge.Routing;

/// <summary>The four operations of the XKS Proxy API (spec, "API operations").</summary>
internal enum XksApi
{
    GetKeyMetadata,
    Encrypt,
    Decrypt,
    GetHealthStatus,
}
