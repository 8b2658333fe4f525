using Grpc.Core;
using XksGrpc.Broker.Errors;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Tests.Errors;

public sealed class XksErrorsTests
{
    [Theory]
    [InlineData(XksErrorName.ValidationException, StatusCode.InvalidArgument)]
    [InlineData(XksErrorName.InvalidCiphertextException, StatusCode.InvalidArgument)]
    [InlineData(XksErrorName.InvalidStateException, StatusCode.FailedPrecondition)]
    [InlineData(XksErrorName.InvalidKeyUsageException, StatusCode.FailedPrecondition)]
    [InlineData(XksErrorName.KeyNotFoundException, StatusCode.NotFound)]
    [InlineData(XksErrorName.AccessDeniedException, StatusCode.PermissionDenied)]
    [InlineData(XksErrorName.ThrottlingException, StatusCode.ResourceExhausted)]
    [InlineData(XksErrorName.UnsupportedOperationException, StatusCode.Unimplemented)]
    [InlineData(XksErrorName.DependencyTimeoutException, StatusCode.Unavailable)]
    [InlineData(XksErrorName.InternalException, StatusCode.Internal)]
    public void ToStatusCode_FollowsTheDesignTable(object name, StatusCode code)
    {
        Assert.Equal(code, XksErrors.ToStatusCode((XksErrorName)name));
    }

    [Fact]
    public void ToRpcException_CarriesExactlyOnePackedXksError()
    {
        var e = XksErrors.ToRpcException(XksErrorName.KeyNotFoundException, "The key 'x' is not in the HSM.");

        var status = e.GetRpcStatus()!;
        var detail = Assert.Single(status.Details).Unpack<XksError>();
        Assert.Equal(XksErrorName.KeyNotFoundException, detail.Name);
        Assert.Equal("The key 'x' is not in the HSM.", detail.Message);
        Assert.Equal(StatusCode.NotFound, e.StatusCode);
    }

    [Fact]
    public void Sanitize_KeepsPrintableAsciiUnder512Characters()
    {
        var message = XksErrors.Sanitize("bad\u00e9\nvalue" + new string('x', 1000));

        Assert.Equal(511, message.Length);
        Assert.StartsWith("bad??value", message);
    }
}
