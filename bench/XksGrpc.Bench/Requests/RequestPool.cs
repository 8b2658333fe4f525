using System.Diagnostics;
using XksGrpc.Bench.Signing;
using XksGrpc.Bench.Target;

namespace XksGrpc.Bench.Requests;

/// <summary>One request ready to send: its body and pre-computed signature headers.</summary>
internal sealed class PreparedRequest(string op, Uri uri, byte[] body, string amzDate, string authorization)
{
    /// <summary>The XKS operation (metadata, encrypt, encrypt-cdiv, decrypt), for error accounting in the mix.</summary>
    public string Op { get; } = op;

    public Uri Uri { get; } = uri;

    public byte[] Body { get; } = body;

    public string AmzDate { get; } = amzDate;

    public string Authorization { get; } = authorization;
}

/// <summary>An unsigned request: what never changes between signings.</summary>
internal sealed record RequestTemplate(string Op, string CanonicalUri, byte[] Body);

/// <summary>
/// A pool of pre-signed requests for one scenario. Signing happens here, before and (every few
/// minutes, because x-amz-date must stay within ±5 minutes) during a run, never per request, so
/// the generator's CPU goes to HTTP and TLS, as a real KMS fleet's would.
/// </summary>
internal sealed class RequestPool
{
    private readonly XksTarget _target;
    private readonly RequestTemplate[] _templates;
    private readonly Uri[] _uris;
    private PreparedRequest[] _signed = [];
    private long _signedAt;

    public RequestPool(string scenario, XksTarget target, IReadOnlyList<RequestTemplate> templates)
    {
        if (templates.Count == 0)
        {
            throw new ArgumentException("a request pool needs at least one request", nameof(templates));
        }

        Scenario = scenario;
        _target = target;
        _templates = [.. templates];
        _uris = _templates.Select(t => new Uri(target.Endpoint, t.CanonicalUri)).ToArray();
        Resign();
    }

    public string Scenario { get; }

    /// <summary>The current signed requests; replaced wholesale (never mutated) on re-signing.</summary>
    public PreparedRequest[] Items => Volatile.Read(ref _signed);

    public TimeSpan Age => Stopwatch.GetElapsedTime(Volatile.Read(ref _signedAt));

    public void Resign()
    {
        string amzDate = SigV4Signer.FormatAmzDate(DateTime.UtcNow);
        string host = _target.Host;
        var signed = new PreparedRequest[_templates.Length];
        for (int i = 0; i < signed.Length; i++)
        {
            RequestTemplate t = _templates[i];
            signed[i] = new PreparedRequest(t.Op, _uris[i], t.Body, amzDate, _target.Signer.Sign(host, t.CanonicalUri, amzDate, t.Body));
        }

        Volatile.Write(ref _signed, signed);
        Volatile.Write(ref _signedAt, Stopwatch.GetTimestamp());
    }

    /// <summary>Builds a message for <paramref name="p"/>: a fresh (cheap) shell around the shared body and header strings.</summary>
    public static HttpRequestMessage ToMessage(PreparedRequest p, string host, Version version)
    {
        var content = new ByteArrayContent(p.Body);
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        var request = new HttpRequestMessage(HttpMethod.Post, p.Uri)
        {
            Version = version,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Content = content,
        };
        request.Headers.TryAddWithoutValidation("Host", host);
        request.Headers.TryAddWithoutValidation("X-Amz-Date", p.AmzDate);
        request.Headers.TryAddWithoutValidation("Authorization", p.Authorization);
        return request;
    }
}
