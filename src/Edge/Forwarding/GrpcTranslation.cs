using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Transforms;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Errors;
using XksGrpc.Edge.Logging;
using XksGrpc.Edge.Metrics;
using XksGrpc.Edge.Pipeline;
using XksGrpc.Edge.Routing;
using XksGrpc.Edge.Validation;
using XksGrpc.Protocol;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// The one place that knows both wire formats (STYLE 9): a YARP request/response transform pair.
/// Request: the validated protobuf (already framed as the proxied body by the pipeline) goes to
/// <c>/xksgrpc.broker.v1.XksBroker/&lt;Method&gt;</c> as HTTP/2 gRPC with <c>te: trailers</c>,
/// <c>grpc-timeout</c>, <c>x-kms-request-id</c> and <c>traceparent</c>. Response: nothing is copied;
/// the reply's single message and grpc-status are read, and the spec's JSON (or error) is written.
/// </summary>
internal sealed class GrpcTranslation
{
    /// <summary>Replies larger than this are refused (the largest valid one is a few KB).</summary>
    private const int MaxReplyBytes = 4 * 1024 * 1024;

    private readonly BrokerMethods _methods = new();
    private readonly string _grpcTimeout;
    private readonly EdgeProxyInfoOptions _proxyInfo;
    private readonly EdgeMetrics _metrics;
    private readonly BrokerLiveness _liveness;
    private readonly ILogger _logger;

    public GrpcTranslation(IOptions<EdgeOptions> options, EdgeMetrics metrics, BrokerLiveness liveness, ILogger<GrpcTranslation> logger)
    {
        var deadline = options.Value.Brokers.Deadline;
        _grpcTimeout = Math.Max(1, (long)Math.Ceiling(deadline.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture) + "m";
        _proxyInfo = options.Value.Proxy;
        _metrics = metrics;
        _liveness = liveness;
        _logger = logger;
    }

    public ValueTask TransformRequestAsync(RequestTransformContext context)
    {
        var exchange = context.HttpContext.Features.Get<XksExchange>()
            ?? throw new InvalidOperationException("An XKS request reached the forwarder without passing the XKS pipeline.");

        var request = context.ProxyRequest;
        request.RequestUri = _methods.Uri(context.DestinationPrefix, exchange.Api);
        request.Headers.TryAddWithoutValidation("te", "trailers");
        request.Headers.TryAddWithoutValidation("grpc-timeout", _grpcTimeout);
        request.Headers.TryAddWithoutValidation("grpc-accept-encoding", "identity");
        if (exchange.Metadata is { } metadata)
        {
            request.Headers.TryAddWithoutValidation(BrokerHeaders.KmsRequestId, HeaderSafe(metadata.KmsRequestId));
        }

        if (exchange.TraceParent is { } traceParent)
        {
            request.Headers.TryAddWithoutValidation("traceparent", traceParent);
        }

        request.Content?.Headers.TryAddWithoutValidation("Content-Type", "application/grpc");
        exchange.BrokerStartTimestamp = Stopwatch.GetTimestamp();
        return ValueTask.CompletedTask;
    }

    public async ValueTask TransformResponseAsync(ResponseTransformContext context)
    {
        var reply = context.ProxyResponse;
        var exchange = context.HttpContext.Features.Get<XksExchange>();
        if (reply is null || exchange is null)
        {
            // Transport failure: the pipeline maps IForwarderErrorFeature after YARP returns.
            return;
        }

        context.SuppressResponseBody = true;
        byte[]? body = null;
        try
        {
            XksFailure? failure;
            var length = 0;
            try
            {
                (failure, length, body) = await ReadReplyAsync(reply, context.CancellationToken);
                exchange.BrokerEndTimestamp = Stopwatch.GetTimestamp();
                _metrics.BrokerCallCompleted(ApiNames.Of(exchange.Api), exchange.BrokerLatency.TotalSeconds);
                _liveness.BrokerAnswered();
            }
            catch (OperationCanceledException) when (!context.HttpContext.RequestAborted.IsCancellationRequested)
            {
                // The deadline (YARP's activity timeout) ran out after the reply's headers, while its
                // message or trailers were still on the way: the broker was too slow, as when no
                // header came at all (YARP would report this as ResponseHeaders, i.e. 500).
                EdgeLog.BrokerReplyTimedOut(_logger, ApiNames.Of(exchange.Api));
                failure = new XksFailure(XksErrorName.DependencyTimeoutException, "The key manager broker did not answer in time.");
            }

            if (failure is null)
            {
                if (!GrpcFraming.TryReadSingle(body.AsSpan(0, length), out _, out var problem))
                {
                    EdgeLog.BrokerReplyInvalid(_logger, ApiNames.Of(exchange.Api), problem!);
                    failure = new XksFailure(XksErrorName.InternalException, "The key manager broker sent an unusable reply.");
                }
                else
                {
                    var message = body.AsMemory(GrpcFraming.HeaderLength, length - GrpcFraming.HeaderLength);
                    failure = await WriteSuccessAsync(context.HttpContext, exchange, message);
                }
            }

            if (failure is { } f)
            {
                exchange.Failure = f;
                await XksErrorWriter.WriteAsync(context.HttpContext, f);
            }

            exchange.ResponseWritten = true;
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }
        }
    }

    /// <summary>Reads the whole reply body and the call's status (headers for trailers-only replies, else trailers).</summary>
    private static async Task<(XksFailure? Failure, int Length, byte[] Body)> ReadReplyAsync(HttpResponseMessage reply, CancellationToken cancellationToken)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(4096);
        var length = 0;
        if (reply.StatusCode != HttpStatusCode.OK)
        {
            var name = reply.StatusCode is HttpStatusCode.ServiceUnavailable or HttpStatusCode.GatewayTimeout or HttpStatusCode.TooManyRequests
                ? XksErrorName.DependencyTimeoutException
                : XksErrorName.InternalException;
            return (new XksFailure(name, $"The key manager broker answered HTTP {(int)reply.StatusCode}."), 0, buffer);
        }

        var headerStatus = GrpcStatusReader.ReadStatus(reply.Headers);
        if (headerStatus is { } trailersOnly)
        {
            return (trailersOnly == Grpc.Core.StatusCode.OK
                ? new XksFailure(XksErrorName.InternalException, "The key manager broker sent an empty reply.")
                : GrpcStatusReader.ToFailure(trailersOnly, reply.Headers), 0, buffer);
        }

        using (var stream = await reply.Content.ReadAsStreamAsync(cancellationToken))
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (buffer.Length >= MaxReplyBytes)
                    {
                        return (new XksFailure(XksErrorName.InternalException, "The key manager broker's reply is too large."), 0, buffer);
                    }

                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await stream.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }
        }

        var status = GrpcStatusReader.ReadStatus(reply.TrailingHeaders);
        if (status is null)
        {
            return (new XksFailure(XksErrorName.InternalException, "The key manager broker's reply carried no gRPC status."), length, buffer);
        }

        return status == Grpc.Core.StatusCode.OK
            ? (null, length, buffer)
            : (GrpcStatusReader.ToFailure(status.Value, reply.TrailingHeaders), length, buffer);
    }

    private async ValueTask<XksFailure?> WriteSuccessAsync(HttpContext context, XksExchange exchange, ReadOnlyMemory<byte> message)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        switch (exchange.Api)
        {
            case XksApi.Encrypt:
            {
                var reply = EncryptResponse.Parser.ParseFrom(message.Span);
                var problem = ReplyChecks.Encrypt(reply, exchange.CdivRequested, exchange.DataLength);
                if (problem is not null)
                {
                    return Unusable(exchange, problem);
                }

                await JsonResponse.WriteAsync(context, new EncryptResponseBody(
                    reply.Ciphertext.Memory,
                    reply.CiphertextMetadata.Length == 0 ? (ReadOnlyMemory<byte>?)null : reply.CiphertextMetadata.Memory,
                    reply.InitializationVector.Memory,
                    reply.AuthenticationTag.Memory,
                    exchange.CdivRequested ? reply.CiphertextDataIntegrityValue.Memory : (ReadOnlyMemory<byte>?)null), XksJsonContext.Default.EncryptResponseBody);
                return null;
            }

            case XksApi.Decrypt:
            {
                var reply = DecryptResponse.Parser.ParseFrom(message.Span);
                if (reply.Plaintext.Length != exchange.DataLength)
                {
                    return Unusable(exchange, "Decrypt reply plaintext is not as long as the ciphertext");
                }

                await JsonResponse.WriteAsync(context, new DecryptResponseBody(reply.Plaintext.Memory), XksJsonContext.Default.DecryptResponseBody);
                return null;
            }

            case XksApi.GetKeyMetadata:
            {
                var reply = GetKeyMetadataResponse.Parser.ParseFrom(message.Span);
                var status = reply.KeyStatus switch
                {
                    KeyStatus.Enabled => "ENABLED",
                    KeyStatus.Disabled => "DISABLED",
                    _ => null,
                };
                if (status is null || string.IsNullOrEmpty(reply.KeySpec))
                {
                    return Unusable(exchange, "GetKeyMetadata reply without keySpec or keyStatus");
                }

                // Spec: at most ten keyUsage values.
                var usages = reply.KeyUsage.Count <= 10 ? (IReadOnlyList<string>)reply.KeyUsage : [.. reply.KeyUsage.Take(10)];
                await JsonResponse.WriteAsync(context, new GetKeyMetadataResponseBody(reply.KeySpec, usages, status), XksJsonContext.Default.GetKeyMetadataResponseBody);
                return null;
            }

            case XksApi.GetHealthStatus:
            {
                var reply = GetHealthStatusResponse.Parser.ParseFrom(message.Span);
                if (reply.EkmFleetDetails.Count == 0)
                {
                    return Unusable(exchange, "GetHealthStatus reply without any key manager");
                }

                // Spec: one to ten entries.
                var count = Math.Min(reply.EkmFleetDetails.Count, 10);
                var fleet = new EkmFleetDetailBody[count];
                for (var i = 0; i < count; i++)
                {
                    var ekm = reply.EkmFleetDetails[i];
                    fleet[i] = new EkmFleetDetailBody(ekm.Id, ekm.Model, ekm.Health switch
                    {
                        EkmHealth.Active => "ACTIVE",
                        EkmHealth.Degraded => "DEGRADED",
                        _ => "UNAVAILABLE",
                    });
                }

                await JsonResponse.WriteAsync(context, new GetHealthStatusResponseBody(
                    _proxyInfo.FleetSize, _proxyInfo.Vendor, _proxyInfo.Model, reply.EkmVendor, fleet), XksJsonContext.Default.GetHealthStatusResponseBody);
                return null;
            }

            default:
                throw new ArgumentOutOfRangeException(nameof(exchange));
        }
    }

    private XksFailure Unusable(XksExchange exchange, string problem)
    {
        EdgeLog.BrokerReplyInvalid(_logger, ApiNames.Of(exchange.Api), problem);
        return new XksFailure(XksErrorName.InternalException, "The key manager broker sent an unusable reply.");
    }

    /// <summary>kmsRequestId is opaque: only printable ASCII of it goes into a header.</summary>
    internal static string HeaderSafe(string value)
        => XksErrorWriter.Sanitize(value.Length <= 256 ? value : value[..256]);
}

/// <summary>Checks a broker reply against the spec's constraints before it reaches KMS.</summary>
internal static class ReplyChecks
{
    public static string? Encrypt(EncryptResponse reply, bool cdivRequested, int plaintextLength)
    {
        if (reply.Ciphertext.Length != plaintextLength)
        {
            return "Encrypt reply ciphertext is not as long as the plaintext";
        }

        if (reply.InitializationVector.Length is not (12 or 16))
        {
            return "Encrypt reply IV is not 12 or 16 bytes";
        }

        if (reply.AuthenticationTag.Length != XksLimits.TagBytes)
        {
            return "Encrypt reply tag is not 16 bytes";
        }

        if (reply.CiphertextMetadata.Length > XksLimits.MaxCiphertextMetadataBytes)
        {
            return "Encrypt reply ciphertextMetadata is longer than 20 bytes";
        }

        if (cdivRequested && reply.CiphertextDataIntegrityValue.Length != 32)
        {
            return "Encrypt reply lacks the SHA-256 CDIV that was asked for";
        }

        return null;
    }
}
