using System.Globalization;
using Amazon.Runtime;
using Amazon.Runtime.Endpoints;
using Amazon.Runtime.Internal;
using Amazon.Runtime.Internal.Auth;
using Microsoft.AspNetCore.Http;
using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Tests.Authentication;

/// <summary>
/// Signs XKS-shaped requests with AWSSDK.Core's own SigV4 signer (<see cref="AWS4Signer.SignRequest"/>), an
/// implementation independent of ours. The SDK signs at the real current time; tests freeze the verifier's
/// clock at the <see cref="SignedRequest.SignedAt"/> it reports.
/// </summary>
internal static class AwsSdkSigner
{
    public const string Host = "xks.example.com:8443";

    public static SignedRequest Sign(
        string accessKeyId,
        string secretAccessKey,
        string path,
        byte[] body,
        string region = "us-east-1",
        string service = SigV4VerifierOptions.XksService,
        IReadOnlyDictionary<string, string>? extraHeaders = null)
    {
        var request = new DefaultRequest(new XksApiRequest(), service)
        {
            HttpMethod = "POST",
            Endpoint = new Uri("https://" + Host),
            ResourcePath = path,
            Content = body,
        };
        request.Headers["Content-Type"] = "application/json";
        if (extraHeaders is not null)
        {
            foreach (KeyValuePair<string, string> header in extraHeaders)
            {
                request.Headers[header.Key] = header.Value;
            }
        }

        var config = new XksClientConfig { AuthenticationRegion = region, AuthenticationServiceName = service };
        AWS4SigningResult signing = new AWS4Signer().SignRequest(request, config, null, accessKeyId, secretAccessKey);

        IHeaderDictionary headers = new HeaderDictionary();
        foreach (KeyValuePair<string, string> header in request.Headers)
        {
            headers[header.Key] = header.Value;
        }

        headers.Authorization = signing.ForAuthorizationHeader;
        DateTime signedAt = DateTime.ParseExact(headers["X-Amz-Date"].ToString(), "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        return new SignedRequest(path, headers, body, new DateTimeOffset(signedAt, TimeSpan.Zero));
    }

    private sealed class XksApiRequest : AmazonWebServiceRequest;

    /// <summary>The least client configuration the signer reads: signing region and service name.</summary>
    private sealed class XksClientConfig() : ClientConfig(null!)
    {
        public override string RegionEndpointServiceName => SigV4VerifierOptions.XksService;

        public override string ServiceVersion => "1";

        public override string UserAgent => "xksgrpc-tests";

        public override Amazon.Runtime.Endpoints.Endpoint DetermineServiceOperationEndpoint(ServiceOperationEndpointParameters parameters)
            => throw new NotSupportedException();
    }
}

/// <summary>A signed request ready for the verifier, and the instant it was signed at.</summary>
internal sealed record SignedRequest(string Path, IHeaderDictionary Headers, byte[] Body, DateTimeOffset SignedAt)
{
    public SigV4Request ToSigV4Request(string method = "POST") => new(method, Path, string.Empty, Headers, Body);
}
