using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Primitives;

namespace XksGrpc.Edge.Authentication;

/// <summary>
/// Verifies the SigV4 signature of an XKS request (spec "Authentication" and Appendix A, Tasks 1-4):
/// parses the Authorization header (<see cref="AuthorizationHeader"/>), checks the scope (service
/// <c>kms-xks-proxy</c>, optionally the region), requires <c>host</c> and <c>x-amz-date</c> among the signed
/// headers, requires the scope date to be the <c>x-amz-date</c> date and <c>x-amz-date</c> to be within the
/// allowed skew of now, looks the access key id up, rebuilds the canonical request (hashing the body bytes
/// received, never a client-supplied hash), the string to sign and the signature, and compares it with
/// the presented one in constant time.
/// </summary>
/// <remarks>
/// Every failure is a <see cref="SigV4Failure"/> value (all map to 401 AuthenticationFailedException); hostile
/// input never throws. The hot path allocates nothing but the result, using stack buffers, span lookups
/// and cached signing keys.
/// </remarks>
internal sealed class SigV4Verifier
{
    public const string AmzDateHeader = "x-amz-date";
    public const string AmzContentSha256Header = "x-amz-content-sha256";

    private const string AmzDateFormat = "yyyyMMdd'T'HHmmss'Z'";

    private readonly ISigV4CredentialSource _credentials;
    private readonly TimeProvider _timeProvider;
    private readonly SigningKeyCache _signingKeys;
    private readonly string _service;
    private readonly string[] _allowedRegions;
    private readonly TimeSpan _maxClockSkew;
    private volatile string? _lastRegion;

    public SigV4Verifier(ISigV4CredentialSource credentials, TimeProvider timeProvider, SigV4VerifierOptions options, SigningKeyCache signingKeys)
    {
        ArgumentNullException.ThrowIfNull(credentials);
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(signingKeys);
        IReadOnlyList<string> errors = options.Validate();
        if (errors.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", errors), nameof(options));
        }

        _credentials = credentials;
        _timeProvider = timeProvider;
        _signingKeys = signingKeys;
        _service = options.Service;
        _allowedRegions = options.AllowedRegions is { Count: > 0 } regions ? [.. regions] : [];
        _maxClockSkew = options.MaxClockSkew;
    }

    public SigV4Result Verify(in SigV4Request request)
    {
        StringValues authorization = request.Headers.Authorization;
        if (authorization.Count == 0)
        {
            return Fail(SigV4Failure.MissingAuthorization);
        }

        if (authorization.Count > 1)
        {
            return Fail(SigV4Failure.MalformedAuthorization);
        }

        SigV4Failure failure = AuthorizationHeader.TryParse(authorization[0], out AuthorizationHeader header);
        if (failure != SigV4Failure.None)
        {
            return Fail(failure);
        }

        if (!header.Service.SequenceEqual(_service))
        {
            return Fail(SigV4Failure.WrongService, header);
        }

        if (!IsAllowedRegion(header.Region))
        {
            return Fail(SigV4Failure.WrongRegion, header);
        }

        // Spec Appendix A: KMS always signs Host (or HTTP/2's :authority) and X-Amz-Date.
        if (!header.SignsHost || !header.Signs(AmzDateHeader))
        {
            return Fail(SigV4Failure.MissingSignedHeader, header);
        }

        StringValues dates = request.Headers[AmzDateHeader];
        if (dates.Count == 0)
        {
            return Fail(SigV4Failure.MissingDate, header);
        }

        ReadOnlySpan<char> amzDate = dates.Count == 1 ? dates[0] : default;
        if (amzDate.Length != 16
            || !DateTime.TryParseExact(amzDate, AmzDateFormat, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out DateTime signedAt))
        {
            return Fail(SigV4Failure.MalformedDate, header);
        }

        if (!amzDate[..8].SequenceEqual(header.Date))
        {
            return Fail(SigV4Failure.ScopeDateMismatch, header);
        }

        TimeSpan skew = _timeProvider.GetUtcNow().UtcDateTime - signedAt;
        if (skew > _maxClockSkew || -skew > _maxClockSkew)
        {
            return Fail(SigV4Failure.StaleDate, header);
        }

        if (!_credentials.TryGet(header.AccessKeyId, out SigV4Credential? credential))
        {
            return Fail(SigV4Failure.UnknownAccessKeyId, header);
        }

        // The payload hash is always computed here from the bytes received.
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        Span<byte> payloadHashHex = stackalloc byte[2 * SHA256.HashSizeInBytes];
        SHA256.HashData(request.Body.Span, hash);
        Hex.WriteLower(hash, payloadHashHex);
        StringValues contentSha256 = request.Headers[AmzContentSha256Header];
        if (contentSha256.Count > 0)
        {
            // Accepted only when signed, and only when it states the hash of what was received.
            if (!header.Signs(AmzContentSha256Header))
            {
                return Fail(SigV4Failure.UnsignedPayloadHashHeader, header);
            }

            if (contentSha256.Count != 1 || !Ascii.Equals(contentSha256[0].AsSpan().Trim(' '), payloadHashHex))
            {
                return Fail(SigV4Failure.PayloadHashMismatch, header);
            }
        }

        Span<byte> signingKey = stackalloc byte[SigningKey.Size];
        bool match;
        try
        {
            bool cached = _signingKeys.TryGet(header.CacheKey, credential, signingKey);
            if (!cached)
            {
                SigningKey.Derive(credential.SecretAccessKey, header.Date, header.Region, header.Service, signingKey);
            }

            failure = SignatureMatches(request, header, payloadHashHex, amzDate, signingKey, CanonicalUriForm.Encoded, out match);
            if (failure != SigV4Failure.None)
            {
                return Fail(failure, header);
            }

            // curl --aws-sigv4 (the official test client's signer) puts the path into the canonical request as
            // it sends it, without the second encoding: the same path, so it is accepted too (see CanonicalUriForm).
            if (!match && CanonicalRequest.HasDistinctAsSentForm(request.RawPath))
            {
                failure = SignatureMatches(request, header, payloadHashHex, amzDate, signingKey, CanonicalUriForm.AsSent, out match);
                if (failure != SigV4Failure.None)
                {
                    return Fail(failure, header);
                }
            }

            // Only keys that verified a signature are kept: a caller without the secret cannot fill the cache.
            if (match && !cached)
            {
                _signingKeys.Add(header.CacheKey, credential, signingKey);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(signingKey);
        }

        return match
            ? new SigV4Result(SigV4Failure.None, credential, RegionString(header.Region)) { AccessKeyId = credential.AccessKeyId }
            : Fail(SigV4Failure.SignatureMismatch, header);
    }

    /// <summary>Tasks 1-4 for one canonical form of the URI: does the presented signature match?</summary>
    private static SigV4Failure SignatureMatches(in SigV4Request request, in AuthorizationHeader header, ReadOnlySpan<byte> payloadHashHex,
        ReadOnlySpan<char> amzDate, ReadOnlySpan<byte> signingKey, CanonicalUriForm form, out bool match)
    {
        match = false;
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var canonicalRequest = new ByteBuffer(stackalloc byte[1024]);
        try
        {
            SigV4Failure failure = CanonicalRequest.Write(ref canonicalRequest, request, header.SignedHeaders, payloadHashHex, form);
            if (failure != SigV4Failure.None)
            {
                return failure;
            }

            SHA256.HashData(canonicalRequest.Written, hash);
        }
        finally
        {
            canonicalRequest.Dispose();
        }

        var stringToSign = new ByteBuffer(stackalloc byte[StringToSign.MaxLength]);
        Span<byte> computed = stackalloc byte[SigningKey.Size];
        Span<byte> presented = stackalloc byte[SigningKey.Size];
        try
        {
            StringToSign.Write(ref stringToSign, amzDate, header.Scope, hash);
            SigningKey.Sign(signingKey, stringToSign.Written, computed);
            match = Hex.TryDecodeLower(header.Signature, presented)
                && CryptographicOperations.FixedTimeEquals(computed, presented);
            return SigV4Failure.None;
        }
        finally
        {
            stringToSign.Dispose();
        }
    }

    private static SigV4Result Fail(SigV4Failure failure) => new(failure, null, null);

    private static SigV4Result Fail(SigV4Failure failure, in AuthorizationHeader header)
        => new(failure, null, null) { AccessKeyId = header.AccessKeyId.ToString() };

    private bool IsAllowedRegion(ReadOnlySpan<char> region)
    {
        if (_allowedRegions.Length == 0)
        {
            return true;
        }

        foreach (string allowed in _allowedRegions)
        {
            if (region.SequenceEqual(allowed))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>KMS calls from one region per keystore: reuse the last region string instead of allocating one per request.</summary>
    private string RegionString(ReadOnlySpan<char> region)
    {
        string? last = _lastRegion;
        if (last is not null && region.SequenceEqual(last))
        {
            return last;
        }

        last = region.ToString();
        _lastRegion = last;
        return last;
    }
}
