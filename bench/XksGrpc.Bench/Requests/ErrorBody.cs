using System.Text;
using System.Text.Json;

namespace XksGrpc.Bench.Requests;

/// <summary>Reads the spec's error body <c>{"errorName": "...", "errorMessage": "..."}</c> (spec: Error codes).</summary>
internal static class ErrorBody
{
    /// <summary>The errorName of an error body, or null when the body is not the spec's JSON error.</summary>
    public static string? ErrorName(ReadOnlySpan<byte> body)
    {
        try
        {
            var reader = new Utf8JsonReader(body);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                bool isName = reader.ValueTextEquals("errorName"u8);
                if (!reader.Read())
                {
                    return null;
                }

                if (isName && reader.TokenType == JsonTokenType.String)
                {
                    return reader.GetString();
                }

                reader.TrySkip();
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    /// <summary>"status errorName" for the accounting, or the status and a hint when the body is not JSON.</summary>
    public static string Describe(int status, ReadOnlySpan<byte> body)
    {
        string? name = ErrorName(body);
        if (name is not null)
        {
            return $"{status} {name}";
        }

        if (body.IsEmpty)
        {
            return $"{status} (empty body)";
        }

        string text = Encoding.UTF8.GetString(body[..Math.Min(body.Length, 60)]).ReplaceLineEndings(" ");
        return $"{status} (not a JSON error: {text})";
    }
}
