using System.Text.Json;
using Grpc.Core;
using Microsoft.AspNetCore.Http;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Errors;

namespace XksGrpc.Edge.Tests.Errors;

public sealed class XksErrorTableTests
{
    [Theory]
    [InlineData(XksErrorName.ValidationException, 400, "ValidationException")]
    [InlineData(XksErrorName.InvalidStateException, 400, "InvalidStateException")]
    [InlineData(XksErrorName.InvalidCiphertextException, 400, "InvalidCiphertextException")]
    [InlineData(XksErrorName.InvalidKeyUsageException, 400, "InvalidKeyUsageException")]
    [InlineData(XksErrorName.AuthenticationFailedException, 401, "AuthenticationFailedException")]
    [InlineData(XksErrorName.AccessDeniedException, 403, "AccessDeniedException")]
    [InlineData(XksErrorName.KeyNotFoundException, 404, "KeyNotFoundException")]
    [InlineData(XksErrorName.InvalidUriPathException, 404, "InvalidUriPathException")]
    [InlineData(XksErrorName.ThrottlingException, 429, "ThrottlingException")]
    [InlineData(XksErrorName.UnsupportedOperationException, 501, "UnsupportedOperationException")]
    [InlineData(XksErrorName.DependencyTimeoutException, 503, "DependencyTimeoutException")]
    [InlineData(XksErrorName.InternalException, 500, "InternalException")]
    [InlineData(XksErrorName.Unspecified, 500, "InternalException")]
    public void EveryRowOfTheSpecTable_HasItsStatusAndName(XksErrorName name, int status, string errorName)
    {
        Assert.Equal(status, XksErrorTable.HttpStatus(name));
        Assert.Equal(errorName, XksErrorTable.ErrorName(name));
        Assert.True(XksErrorTable.DefaultMessage(name).Length < 512);
    }

    [Theory]
    [InlineData(StatusCode.DeadlineExceeded, XksErrorName.DependencyTimeoutException)]
    [InlineData(StatusCode.Unavailable, XksErrorName.DependencyTimeoutException)]
    [InlineData(StatusCode.Cancelled, XksErrorName.DependencyTimeoutException)]
    [InlineData(StatusCode.ResourceExhausted, XksErrorName.ThrottlingException)]
    [InlineData(StatusCode.Internal, XksErrorName.InternalException)]
    [InlineData(StatusCode.Unknown, XksErrorName.InternalException)]
    [InlineData(StatusCode.InvalidArgument, XksErrorName.InternalException)]
    public void GrpcStatusWithoutDetail_MapsByCode(StatusCode code, XksErrorName expected)
        => Assert.Equal(expected, XksErrorTable.FromGrpcCode(code));

    [Fact]
    public async Task ErrorBody_IsOneLineJsonWithNameAndMessage()
    {
        var context = new DefaultHttpContext();
        var body = new MemoryStream();
        context.Response.Body = body;

        await XksErrorWriter.WriteAsync(context, XksErrorName.KeyNotFoundException, "no such key");
        await context.Response.BodyWriter.FlushAsync();

        Assert.Equal(404, context.Response.StatusCode);
        Assert.Equal("application/json", context.Response.ContentType);
        var text = System.Text.Encoding.UTF8.GetString(body.ToArray());
        Assert.Equal("""{"errorName":"KeyNotFoundException","errorMessage":"no such key"}""", text);
        Assert.Equal(text.Length, context.Response.ContentLength);
    }

    [Fact]
    public void Sanitize_KeepsPrintableAsciiUnder512()
    {
        var clean = XksErrorWriter.Sanitize("bad\nline\u00e9" + new string('x', 600));

        Assert.Equal(511, clean.Length);
        Assert.All(clean, c => Assert.InRange(c, ' ', '~'));
        Assert.StartsWith("bad?line?", clean, StringComparison.Ordinal);
    }

    [Fact]
    public void Sanitize_LeavesACleanMessageAsIs()
    {
        const string message = "The request was rejected.";

        Assert.Same(message, XksErrorWriter.Sanitize(message));
    }

    [Fact]
    public void ErrorBodyContract_SerializesWithoutMessageWhenNull()
    {
        var json = JsonSerializer.Serialize(new Edge.Validation.ErrorResponseBody("ThrottlingException", null), Edge.Validation.XksJsonContext.Default.ErrorResponseBody);

        Assert.Equal("""{"errorName":"ThrottlingException"}""", json);
    }
}
