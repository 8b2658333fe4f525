using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Authentication;
using XksGrpc.Edge.Configuration;
using XksGrpc.Edge.Errors;
using XksGrpc.Edge.Forwarding;
using XksGrpc.Edge.Logging;
using XksGrpc.Edge.Metrics;
using XksGrpc.Edge.Routing;
using XksGrpc.Edge.Validation;

namespace XksGrpc.Edge.Pipeline;

/// <summary>
/// The XKS stages inside YARP's proxy pipeline, in order: read the body (bounded), authenticate
/// (SigV4, credential of the routed keystore), check the key id, apply the keystore's quota,
/// validate, authorize, then hand the framed protobuf to YARP as the proxied body. After YARP
/// returns, a transport failure becomes the spec's 503 DependencyTimeoutException or 500
/// InternalException, never a bare 502/504.
/// </summary>
internal sealed class XksRequestMiddleware(
    RequestDelegate next,
    IRequestAuthenticator authenticator,
    IRequestAuthorizer authorizer,
    KeystoreRateLimiters rateLimiters,
    IOptions<EdgeOptions> options,
    EdgeMetrics metrics,
    ILogger<XksRequestMiddleware> logger)
{
    private readonly XksLimits _limits = XksLimits.From(options.Value.Limits);

    public async Task InvokeAsync(HttpContext context)
    {
        var exchange = context.Features.Get<XksExchange>()
            ?? throw new InvalidOperationException("The XKS entry stage did not run.");

        var (body, length, bodyFailure) = await ReadBodyAsync(context, _limits.MaxRequestBodyBytes);
        byte[]? frame = null;
        try
        {
            var frameLength = 0;
            if (bodyFailure is not null)
            {
                metrics.Rejected(exchange.Keystore, EdgeMetrics.Oversized);
            }

            var failure = bodyFailure ?? Prepare(context, exchange, body.AsMemory(0, length), out frame, out frameLength);
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
                body = null;
            }

            if (failure is { } f)
            {
                exchange.Failure = f;
                await XksErrorWriter.WriteAsync(context, f);
                exchange.ResponseWritten = true;
                return;
            }

            // YARP copies the proxied body from HttpContext.Request; replace it with the gRPC frame.
            context.Request.Body = new MemoryStream(frame!, 0, frameLength, writable: false);
            context.Request.ContentLength = frameLength;
            await next(context);

            if (!exchange.ResponseWritten)
            {
                await WriteForwardingFailureAsync(context, exchange);
            }
        }
        finally
        {
            if (body is not null)
            {
                ArrayPool<byte>.Shared.Return(body);
            }

            if (frame is not null)
            {
                ArrayPool<byte>.Shared.Return(frame);
            }
        }
    }

    private XksFailure? Prepare(HttpContext context, XksExchange exchange, ReadOnlyMemory<byte> body, out byte[]? frame, out int frameLength)
    {
        frame = null;
        frameLength = 0;

        // Authenticate (spec Appendix A) over the exact body bytes.
        var request = context.Request;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? (request.PathBase + request.Path).Value ?? "";
        var query = rawTarget.IndexOf('?');
        var sigv4 = new SigV4Request(
            request.Method,
            query < 0 ? rawTarget : rawTarget[..query],
            query < 0 ? "" : rawTarget[(query + 1)..],
            request.Headers,
            body);
        var authentication = authenticator.Authenticate(sigv4);
        if (!authentication.Succeeded)
        {
            EdgeLog.AuthenticationFailed(logger, exchange.Keystore, authentication.Failure.ToString());
            metrics.Rejected(exchange.Keystore, EdgeMetrics.Authentication);
            return new XksFailure(XksErrorName.AuthenticationFailedException, null);
        }

        if (!string.Equals(authentication.Credential.Keystore, exchange.Keystore, StringComparison.Ordinal))
        {
            // A credential belongs to one keystore (design.md): another keystore's is refused.
            EdgeLog.AuthenticationFailed(logger, exchange.Keystore, "CredentialOfAnotherKeystore");
            metrics.Rejected(exchange.Keystore, EdgeMetrics.Authentication);
            return new XksFailure(XksErrorName.AuthenticationFailedException, null);
        }

        exchange.Credential = authentication.Credential;

        if (!exchange.Route.KeyIdValid)
        {
            return new XksFailure(XksErrorName.KeyNotFoundException,
                "The external key id must be 1-128 characters of A-Z, a-z, 0-9, '-', '.' and '_'.");
        }

        if (!rateLimiters.TryAcquire(exchange.Keystore))
        {
            metrics.Throttled(exchange.Keystore, EdgeMetrics.KeystoreQuota);
            return new XksFailure(XksErrorName.ThrottlingException, "The request rate of this keystore exceeds its quota.");
        }

        var validation = XksRequestReader.Read(exchange.Api, body.Span, exchange.Keystore, exchange.KeyId, _limits, out var parsed);
        if (validation is not null)
        {
            return validation;
        }

        exchange.Metadata = parsed.Metadata;
        exchange.BrokerRequest = parsed.Message;
        exchange.CdivRequested = parsed.CdivRequested;
        exchange.DataLength = parsed.Message switch
        {
            EncryptRequest encrypt => encrypt.Plaintext.Length,
            DecryptRequest decrypt => decrypt.Ciphertext.Length,
            _ => 0,
        };

        // Spec, "Authorization": GetHealthStatus MUST be excluded from secondary authorization.
        if (exchange.Api != XksApi.GetHealthStatus)
        {
            var decision = authorizer.Authorize(exchange);
            exchange.DecidingRule = decision.RuleId;
            if (!decision.Allowed)
            {
                EdgeLog.AccessDenied(logger, ApiNames.Of(exchange.Api), exchange.Keystore, exchange.KeyId, decision.RuleId);
                metrics.Rejected(exchange.Keystore, EdgeMetrics.Authorization);
                return new XksFailure(XksErrorName.AccessDeniedException, decision.Message);
            }
        }

        // Trace context for the broker hop (W3C traceparent): the request's own span (ASP.NET Core's
        // activity, which continues the caller's trace when there is one) is the broker's parent, so
        // the TraceId and the parent SpanId in the broker's log are those of the edge's log line.
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } activity)
        {
            exchange.TraceId = activity.TraceId;
            exchange.TraceParent = activity.Id;
        }
        else
        {
            exchange.TraceId = ActivityTraceId.CreateRandom();
            exchange.TraceParent = string.Concat("00-", exchange.TraceId.ToHexString(), "-", ActivitySpanId.CreateRandom().ToHexString(), "-00");
        }

        frame = GrpcFraming.Frame(parsed.Message, out frameLength);
        return null;
    }

    /// <summary>
    /// Reads the whole body into a pooled buffer, refusing more than <paramref name="cap"/> bytes
    /// early (Content-Length first) with 501 UnsupportedOperationException.
    /// </summary>
    private static async Task<(byte[]? Body, int Length, XksFailure? Failure)> ReadBodyAsync(HttpContext context, int cap)
    {
        var declared = context.Request.ContentLength;
        if (declared > cap)
        {
            return (null, 0, TooLarge(cap));
        }

        var reader = context.Request.BodyReader;
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync(context.RequestAborted);
                var buffer = result.Buffer;
                if (buffer.Length > cap)
                {
                    reader.AdvanceTo(buffer.End);
                    return (null, 0, TooLarge(cap));
                }

                if (result.IsCompleted)
                {
                    var length = (int)buffer.Length;
                    var body = ArrayPool<byte>.Shared.Rent(Math.Max(length, 1));
                    buffer.CopyTo(body);
                    reader.AdvanceTo(buffer.End);
                    return (body, length, null);
                }

                reader.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, 0, TooLarge(cap));
        }
        catch (BadHttpRequestException)
        {
            // The client's fault, not the proxy's: a body slower than Kestrel's minimum data rate
            // (408), a malformed chunked encoding or a body shorter than its Content-Length (400).
            return (null, 0, new XksFailure(XksErrorName.ValidationException, "The request body was malformed or not received in time."));
        }
    }

    private static XksFailure TooLarge(int cap)
        => XksFailure.Unsupported($"The request body is larger than {cap} bytes, the maximum this proxy accepts.");

    private async Task WriteForwardingFailureAsync(HttpContext context, XksExchange exchange)
    {
        var error = context.Features.Get<Yarp.ReverseProxy.Forwarder.IForwarderErrorFeature>();
        var failure = ForwardingErrors.ToFailure(error?.Error, context.Response.StatusCode);
        string forwarderError = error?.Error.ToString() ?? $"HTTP {context.Response.StatusCode}";
        if (ForwardingErrors.ClientWentAway(context))
        {
            EdgeLog.ClientGoneDuringForwarding(logger, forwarderError);
        }
        else
        {
            EdgeLog.ForwardingFailed(logger, forwarderError, XksErrorTable.ErrorName(failure.Name), error?.Exception);
        }
        exchange.Failure = failure;
        if (!context.Response.HasStarted)
        {
            await XksErrorWriter.WriteAsync(context, failure);
        }

        exchange.ResponseWritten = true;
    }
}
