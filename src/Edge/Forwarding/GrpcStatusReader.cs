using System.Globalization;
using System.Net.Http.Headers;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Errors;

namespace XksGrpc.Edge.Forwarding;

/// <summary>
/// Reads a gRPC call's outcome from HTTP/2 headers or trailers: <c>grpc-status</c>, and the
/// <c>grpc-status-details-bin</c> google.rpc.Status whose single packed <see cref="XksError"/>
/// names the spec error (design.md, "Wire between edge and broker").
/// </summary>
internal static class GrpcStatusReader
{
    public const string StatusHeader = "grpc-status";
    public const string DetailsHeader = "grpc-status-details-bin";

    /// <summary>Finds grpc-status in <paramref name="headers"/>; null if it is not there.</summary>
    public static StatusCode? ReadStatus(HttpHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues(StatusHeader, out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            return int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var code)
                ? (StatusCode)code
                : StatusCode.Unknown;
        }

        return null;
    }

    /// <summary>The spec failure a non-OK status stands for.</summary>
    public static XksFailure ToFailure(StatusCode code, HttpHeaders headers)
    {
        var detail = ReadDetail(headers);
        if (detail is not null && detail.Name != XksErrorName.Unspecified)
        {
            return new XksFailure(detail.Name, string.IsNullOrEmpty(detail.Message) ? null : detail.Message);
        }

        var name = XksErrorTable.FromGrpcCode(code);
        return new XksFailure(name, $"The key manager broker answered gRPC status {code}.");
    }

    /// <summary>Decodes the XksError packed in grpc-status-details-bin, or null.</summary>
    public static XksError? ReadDetail(HttpHeaders headers)
    {
        if (!headers.NonValidated.TryGetValues(DetailsHeader, out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            try
            {
                var status = Google.Rpc.Status.Parser.ParseFrom(DecodeUnpaddedBase64(value.ToString()));
                foreach (var any in status.Details)
                {
                    if (any.TryUnpack<XksError>(out var error))
                    {
                        return error;
                    }
                }
            }
            catch (Exception ex) when (ex is FormatException or Google.Protobuf.InvalidProtocolBufferException)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>gRPC binary headers are Base64, usually without padding.</summary>
    internal static byte[] DecodeUnpaddedBase64(string text)
    {
        var padding = (4 - text.Length % 4) % 4;
        return Convert.FromBase64String(padding == 0 ? text : text + new string('=', padding));
    }
}
