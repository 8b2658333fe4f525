using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace XksGrpc.Edge.Validation;

/// <summary>
/// Writes a source-generated JSON body with a Content-Length (no chunking), on one line, through
/// a per-thread buffer so that a response costs no allocation beyond the body's own bytes.
/// </summary>
internal static class JsonResponse
{
    [ThreadStatic] private static ArrayBufferWriter<byte>? t_buffer;
    [ThreadStatic] private static Utf8JsonWriter? t_writer;

    public const string ContentType = "application/json";

    public static Task WriteAsync<T>(HttpContext context, T body, JsonTypeInfo<T> typeInfo)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        var writer = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { SkipValidation = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        JsonSerializer.Serialize(writer, body, typeInfo);
        writer.Flush();

        var response = context.Response;
        response.ContentType = ContentType;
        response.ContentLength = buffer.WrittenCount;

        // The bytes are copied into the pipe synchronously, so the thread-static buffer is free
        // again before the flush awaits.
        var pipe = response.BodyWriter;
        pipe.Write(buffer.WrittenSpan);
        if (buffer.Capacity > 64 * 1024)
        {
            t_buffer = null;
            t_writer = null;
        }

        var flush = pipe.FlushAsync(context.RequestAborted);
        return flush.IsCompletedSuccessfully ? Task.CompletedTask : flush.AsTask();
    }
}
