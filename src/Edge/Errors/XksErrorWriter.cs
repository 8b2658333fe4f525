using System.Text.Json;
using Microsoft.AspNetCore.Http;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Validation;

namespace XksGrpc.Edge.Errors;

/// <summary>
/// Writes the spec's error body (spec, "Error codes"): <c>{"errorName":"…","errorMessage":"…"}</c>
/// on one line, <c>Content-Type: application/json</c>, the table's HTTP status, and an
/// errorMessage of fewer than 512 printable ASCII characters.
/// </summary>
internal static class XksErrorWriter
{
    /// <summary>The spec's limit: errorMessage MUST be less than 512 characters.</summary>
    public const int MaxMessageLength = 511;

    public static Task WriteAsync(HttpContext context, XksFailure failure)
        => WriteAsync(context, failure.Name, failure.Message);

    public static Task WriteAsync(HttpContext context, XksErrorName name, string? message, int? statusOverride = null)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return Task.CompletedTask;
        }

        response.Clear();
        response.StatusCode = statusOverride ?? XksErrorTable.HttpStatus(name);
        var body = new ErrorResponseBody(XksErrorTable.ErrorName(name), Sanitize(message ?? XksErrorTable.DefaultMessage(name)));
        return JsonResponse.WriteAsync(context, body, XksJsonContext.Default.ErrorResponseBody);
    }

    /// <summary>Keeps only printable ASCII (0x20-0x7e) and cuts to 511 characters.</summary>
    public static string Sanitize(string message)
    {
        var clean = true;
        foreach (var c in message)
        {
            if (c < 0x20 || c > 0x7e)
            {
                clean = false;
                break;
            }
        }

        if (clean && message.Length <= MaxMessageLength)
        {
            return message;
        }

        var length = Math.Min(message.Length, MaxMessageLength);
        return string.Create(length, message, static (span, source) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                var c = source[i];
                span[i] = c is >= (char)0x20 and <= (char)0x7e ? c : '?';
            }
        });
    }
}
