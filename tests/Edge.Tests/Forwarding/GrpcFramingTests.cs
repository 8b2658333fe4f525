using System.Buffers;
using System.Net.Http.Headers;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Yarp.ReverseProxy.Forwarder;
using XksGrpc.Broker.V1;
using XksGrpc.Edge.Forwarding;

namespace XksGrpc.Edge.Tests.Forwarding;

public sealed class GrpcFramingTests
{
    [Fact]
    public void Frame_IsFlagLengthAndMessage_AndReadsBack()
    {
        var message = new EncryptResponse { Ciphertext = ByteString.CopyFromUtf8("abc"), AuthenticationTag = ByteString.CopyFrom(new byte[16]) };
        var frame = GrpcFraming.Frame(message, out var length);
        try
        {
            var size = message.CalculateSize();
            Assert.Equal(5 + size, length);
            Assert.Equal(0, frame[0]);
            Assert.Equal(size, (frame[1] << 24) | (frame[2] << 16) | (frame[3] << 8) | frame[4]);

            Assert.True(GrpcFraming.TryReadSingle(frame.AsSpan(0, length), out var payload, out var problem));
            Assert.Null(problem);
            Assert.Equal(message, EncryptResponse.Parser.ParseFrom(payload));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    [Theory]
    [InlineData(new byte[] { })]
    [InlineData(new byte[] { 0, 0, 0 })]
    [InlineData(new byte[] { 1, 0, 0, 0, 1, 7 })]          // compressed
    [InlineData(new byte[] { 0, 0, 0, 0, 2, 7 })]          // truncated
    [InlineData(new byte[] { 0, 0, 0, 0, 1, 7, 8 })]       // trailing bytes
    public void TryReadSingle_RefusesAnythingButOneUncompressedMessage(byte[] body)
        => Assert.False(GrpcFraming.TryReadSingle(body, out _, out _));

    [Fact]
    public void StatusDetail_CarriesTheXksError()
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)StatusCode.FailedPrecondition,
            Message = "key cannot decrypt",
            Details = { Any.Pack(new XksError { Name = XksErrorName.InvalidKeyUsageException, Message = "key cannot decrypt" }) },
        };
        var headers = new HttpResponseMessage().TrailingHeaders;
        headers.TryAddWithoutValidation("grpc-status", "9");
        headers.TryAddWithoutValidation("grpc-status-details-bin", Convert.ToBase64String(status.ToByteArray()).TrimEnd('='));

        Assert.Equal(StatusCode.FailedPrecondition, GrpcStatusReader.ReadStatus(headers));
        var failure = GrpcStatusReader.ToFailure(StatusCode.FailedPrecondition, headers);
        Assert.Equal(XksErrorName.InvalidKeyUsageException, failure.Name);
        Assert.Equal("key cannot decrypt", failure.Message);
    }

    [Theory]
    [InlineData(StatusCode.Unavailable, XksErrorName.DependencyTimeoutException)]
    [InlineData(StatusCode.DeadlineExceeded, XksErrorName.DependencyTimeoutException)]
    [InlineData(StatusCode.ResourceExhausted, XksErrorName.ThrottlingException)]
    [InlineData(StatusCode.Internal, XksErrorName.InternalException)]
    public void StatusWithoutDetail_MapsByCode(StatusCode code, XksErrorName expected)
    {
        HttpHeaders headers = new HttpResponseMessage().Headers;
        headers.TryAddWithoutValidation("grpc-status", ((int)code).ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(expected, GrpcStatusReader.ToFailure(code, headers).Name);
    }

    [Fact]
    public void StatusDetail_ThatIsNotBase64_IsIgnored()
    {
        var headers = new HttpResponseMessage().TrailingHeaders;
        headers.TryAddWithoutValidation("grpc-status-details-bin", "!!!");

        Assert.Null(GrpcStatusReader.ReadDetail(headers));
        Assert.Equal(XksErrorName.InternalException, GrpcStatusReader.ToFailure(StatusCode.Internal, headers).Name);
    }

    [Theory]
    [InlineData(ForwarderError.Request, XksErrorName.DependencyTimeoutException)]
    [InlineData(ForwarderError.RequestTimedOut, XksErrorName.DependencyTimeoutException)]
    [InlineData(ForwarderError.NoAvailableDestinations, XksErrorName.DependencyTimeoutException)]
    [InlineData(ForwarderError.RequestBodyClient, XksErrorName.DependencyTimeoutException)]
    [InlineData(ForwarderError.ResponseBodyDestination, XksErrorName.InternalException)]
    [InlineData(ForwarderError.ResponseHeaders, XksErrorName.InternalException)]
    public void ForwarderErrors_MapTo503Or500(ForwarderError error, XksErrorName expected)
        => Assert.Equal(expected, ForwardingErrors.ToFailure(error, 502).Name);

    [Fact]
    public void NoForwarderErrorWith503_IsDependencyTimeout()
        => Assert.Equal(XksErrorName.DependencyTimeoutException, ForwardingErrors.ToFailure(null, 503).Name);

    [Fact]
    public void EncryptReply_IsCheckedAgainstTheSpec()
    {
        EncryptResponse Reply(int iv = 12, int tag = 16, int metadata = 5, int cdiv = 0) => new()
        {
            Ciphertext = ByteString.CopyFrom(new byte[3]),
            InitializationVector = ByteString.CopyFrom(new byte[iv]),
            AuthenticationTag = ByteString.CopyFrom(new byte[tag]),
            CiphertextMetadata = ByteString.CopyFrom(new byte[metadata]),
            CiphertextDataIntegrityValue = ByteString.CopyFrom(new byte[cdiv]),
        };

        Assert.Null(ReplyChecks.Encrypt(Reply(), cdivRequested: false, 3));
        Assert.Null(ReplyChecks.Encrypt(Reply(iv: 16, metadata: 20, cdiv: 32), cdivRequested: true, 3));
        Assert.NotNull(ReplyChecks.Encrypt(Reply(), false, 4));
        Assert.NotNull(ReplyChecks.Encrypt(Reply(iv: 8), false, 3));
        Assert.NotNull(ReplyChecks.Encrypt(Reply(tag: 12), false, 3));
        Assert.NotNull(ReplyChecks.Encrypt(Reply(metadata: 21), false, 3));
        Assert.NotNull(ReplyChecks.Encrypt(Reply(), cdivRequested: true, 3));
    }

    [Fact]
    public void HeaderSafe_KeepsOpaqueRequestIdsPrintable()
    {
        Assert.Equal("4112f4d6-db54", GrpcTranslation.HeaderSafe("4112f4d6-db54"));
        Assert.Equal("a?b", GrpcTranslation.HeaderSafe("a\nb"));
        Assert.Equal(256, GrpcTranslation.HeaderSafe(new string('r', 1000)).Length);
    }
}
