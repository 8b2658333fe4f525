extern alias edge;

using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using IRequestAuthenticator = edge::XksGrpc.Edge.Pipeline.IRequestAuthenticator;
using SigV4Credential = edge::XksGrpc.Edge.Authentication.SigV4Credential;
using SigV4Failure = edge::XksGrpc.Edge.Authentication.SigV4Failure;
using SigV4Request = edge::XksGrpc.Edge.Authentication.SigV4Request;
using SigV4Result = edge::XksGrpc.Edge.Authentication.SigV4Result;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>
/// A compact SigV4 check standing in for the edge's verifier until that one is wired in: it
/// rebuilds the canonical request from the received bytes, so tampering and skew are caught.
/// </summary>
internal static class TestAuthentication
{
    public static void Register(IServiceCollection services, IReadOnlyList<TestCredential> credentials)
        => services.TryAddSingleton<IRequestAuthenticator>(new ReferenceAuthenticator(credentials));

    private sealed class ReferenceAuthenticator(IReadOnlyList<TestCredential> credentials) : IRequestAuthenticator
    {
        public SigV4Result Authenticate(in SigV4Request request)
        {
            var authorization = request.Headers.Authorization.ToString();
            const string Algorithm = "AWS4-HMAC-SHA256 ";
            if (!authorization.StartsWith(Algorithm, StringComparison.Ordinal))
            {
                return Fail(SigV4Failure.MissingAuthorization);
            }

            var parts = authorization[Algorithm.Length..].Split(',', StringSplitOptions.TrimEntries);
            string? Part(string name) => parts.FirstOrDefault(p => p.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];
            var scope = Part("Credential")?.Split('/');
            var signedHeaders = Part("SignedHeaders");
            var signature = Part("Signature");
            if (scope is not { Length: 5 } || signedHeaders is null || signature is null || scope[3] != SdkSigner.Service)
            {
                return Fail(SigV4Failure.MalformedAuthorization);
            }

            var credential = credentials.FirstOrDefault(c => c.AccessKeyId == scope[0]);
            if (credential is null)
            {
                return Fail(SigV4Failure.UnknownAccessKeyId);
            }

            var amzDate = request.Headers["x-amz-date"].ToString();
            if (!DateTime.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
                    DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var signedAt)
                || Math.Abs((DateTime.UtcNow - signedAt).TotalMinutes) > 5 || amzDate[..8] != scope[1])
            {
                return Fail(SigV4Failure.StaleDate);
            }

            var canonical = new StringBuilder();
            canonical.Append(request.Method).Append('\n').Append(request.RawPath).Append('\n').Append(request.RawQuery).Append('\n');
            foreach (var name in signedHeaders.Split(';'))
            {
                canonical.Append(name).Append(':').Append(request.Headers[name].ToString().Trim()).Append('\n');
            }

            canonical.Append('\n').Append(signedHeaders).Append('\n').Append(Convert.ToHexStringLower(SHA256.HashData(request.Body.Span)));
            var stringToSign = $"AWS4-HMAC-SHA256\n{amzDate}\n{string.Join('/', scope[1..])}\n{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical.ToString())))}";
            var key = Encoding.UTF8.GetBytes("AWS4" + credential.Secret);
            foreach (var step in new[] { scope[1], scope[2], scope[3], scope[4] })
            {
                key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(step));
            }

            var expected = Convert.ToHexStringLower(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(stringToSign)));
            return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(signature))
                ? new SigV4Result(SigV4Failure.None, new SigV4Credential(credential.AccessKeyId, credential.Keystore, credential.Secret), scope[2])
                : Fail(SigV4Failure.SignatureMismatch);
        }

        private static SigV4Result Fail(SigV4Failure failure) => new(failure, null, null);
    }
}
