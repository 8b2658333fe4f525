namespace XksGrpc.Edge.Routing;

/// <summary>Cached names of the APIs (for logs and metric tags).</summary>
internal static class ApiNames
{
    public static string Of(XksApi api) => api switch
    {
        XksApi.GetKeyMetadata => "GetKeyMetadata",
        XksApi.Encrypt => "Encrypt",
        XksApi.Decrypt => "Decrypt",
        XksApi.GetHealthStatus => "GetHealthStatus",
        _ => "Unknown",
    };
}
