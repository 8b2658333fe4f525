using Grpc.Core;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Service;

/// <summary>
/// The gRPC service of proto/xksgrpc/broker/v1/broker.proto. Routes each call to its operation;
/// errors and logging are handled by <see cref="BrokerCallInterceptor"/>.
/// </summary>
internal sealed class XksBrokerService(
    GetKeyMetadataOperation getKeyMetadata,
    EncryptOperation encrypt,
    DecryptOperation decrypt,
    GetHealthStatusOperation getHealthStatus) : XksBroker.XksBrokerBase
{
    public override Task<GetKeyMetadataResponse> GetKeyMetadata(GetKeyMetadataRequest request, ServerCallContext context) =>
        getKeyMetadata.ExecuteAsync(request, context.CancellationToken);

    public override Task<EncryptResponse> Encrypt(EncryptRequest request, ServerCallContext context) =>
        encrypt.ExecuteAsync(request, BrokerCallInterceptor.KmsRequestId(context, request.RequestMetadata), context.CancellationToken);

    public override Task<DecryptResponse> Decrypt(DecryptRequest request, ServerCallContext context) =>
        decrypt.ExecuteAsync(request, context.CancellationToken);

    public override Task<GetHealthStatusResponse> GetHealthStatus(GetHealthStatusRequest request, ServerCallContext context) =>
        Task.FromResult(getHealthStatus.Execute());
}
