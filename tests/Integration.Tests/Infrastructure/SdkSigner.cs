using Amazon.Runtime;
using Amazon.Runtime.Endpoints;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>
/// Signs XKS requests with AWSSDK.Core's SigV4 signer (service kms-xks-proxy), an implementation
/// independent of the edge's verifier. Returns the headers to send.
/// </summary>
internal static class SdkSigner
{
    public const string Service = "kms-xks-proxy";

    public static IReadOnlyDictionary<string, string> Sign(Uri endpoint, string path, byte[] body, string accessKeyId, string secret, string region = "us-east-1")
    {
        var request = new DefaultRequest(new XksRequest(), Service)
        {
            HttpMethod = "POST",
            Endpoint = new Uri(endpoint.GetLeftPart(UriPartial.Authority)),
            ResourcePath = path,
            Content = body,
        };
        request.Headers["Content-Type"] = "application/json";
        var config = new XksClientConfig { AuthenticationRegion = region, AuthenticationServiceName = Service };
        var signing = new AWS4Signer().SignRequest(request, config, null, accessKeyId, secret);
        var headers = new Dictionary<string, string>(request.Headers, StringComparer.OrdinalIgnoreCase)
        {
            ["Authorization"] = signing.ForAuthorizationHeader,
        };
        return headers;
    }

    private sealed class XksRequest : AmazonWebServiceRequest;

    private sealed class XksClientConfig() : ClientConfig(null!)
    {
        public override string RegionEndpointServiceName => Service;

        public override string ServiceVersion => "1";

        public override string UserAgent => "xksgrpc-integration-tests";

        public override Amazon.Runtime.Endpoints.Endpoint DetermineServiceOperationEndpoint(ServiceOperationEndpointParameters parameters)
            => throw new NotSupportedException();
    }
}
