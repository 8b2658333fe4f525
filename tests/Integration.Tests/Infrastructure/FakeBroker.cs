using System.Collections.Concurrent;
using System.Security.Cryptography;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using XksGrpc.Broker.V1;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>
/// An in-test gRPC broker on a Unix socket (h2c), standing in for the real broker until it lands:
/// AES-256-GCM in memory with the lab's keys (foo, encrypt_only_key, decrypt_only_key, impotent_key,
/// disabled_key), the spec's AAD framing and CDIV, errors as google.rpc.Status with an XksError detail,
/// and GET /healthz. Records what it received so tests can check what crossed the wire.
/// </summary>
internal sealed class FakeBroker : IAsyncDisposable
{
    private readonly WebApplication _app;

    private FakeBroker(WebApplication app, string socketPath, FakeBrokerState state)
    {
        _app = app;
        SocketPath = socketPath;
        State = state;
    }

    public string SocketPath { get; }

    public FakeBrokerState State { get; }

    public static async Task<FakeBroker> StartAsync(string socketPath, FakeBrokerState? state = null)
    {
        state ??= new FakeBrokerState();
        if (File.Exists(socketPath))
        {
            File.Delete(socketPath);
        }

        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(socketPath, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(state);
        var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (state.StallAfterHeaders > TimeSpan.Zero && context.Request.ContentType == "application/grpc")
            {
                // A broker that starts its reply and then stalls (beneath gRPC, so no server deadline ends it).
                context.Response.ContentType = "application/grpc";
                await context.Response.Body.WriteAsync(new byte[] { 0, 0, 0, 0, 16 }); // a frame header announcing 16 bytes, then none
                await context.Response.Body.FlushAsync();
                await Task.Delay(state.StallAfterHeaders);
                return;
            }

            await next(context);
        });
        app.MapGrpcService<FakeXksBrokerService>();
        app.MapGet("/healthz", () => Results.Text("ok"));
        await app.StartAsync();
        return new FakeBroker(app, socketPath, state);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>Keys, behaviour switches and the record of received calls.</summary>
internal sealed class FakeBrokerState
{
    public sealed record Key(byte[] Material, bool CanEncrypt, bool CanDecrypt, bool Enabled, string[] Usages);

    public ConcurrentDictionary<string, Key> Keys { get; } = new(StringComparer.Ordinal)
    {
        ["foo"] = new(RandomNumberGenerator.GetBytes(32), true, true, true, ["ENCRYPT", "DECRYPT"]),
        ["encrypt_only_key"] = new(RandomNumberGenerator.GetBytes(32), true, false, true, ["ENCRYPT"]),
        ["decrypt_only_key"] = new(RandomNumberGenerator.GetBytes(32), false, true, true, ["DECRYPT"]),
        ["impotent_key"] = new(RandomNumberGenerator.GetBytes(32), false, false, true, ["SIGN", "VERIFY"]),
        ["disabled_key"] = new(RandomNumberGenerator.GetBytes(32), true, true, false, ["ENCRYPT", "DECRYPT"]),
    };

    /// <summary>Delay added to every call (deadline tests).</summary>
    public TimeSpan Delay { get; set; }

    /// <summary>When set, every gRPC call gets its response headers and the start of a message at once, and nothing more for this long.</summary>
    public TimeSpan StallAfterHeaders { get; set; }

    public RequestMetadata? LastMetadata { get; set; }

    public string? LastKeystore { get; set; }

    public string? LastKmsRequestIdHeader { get; set; }

    public string? LastTraceParent { get; set; }

    public int Calls;
}

internal sealed class FakeXksBrokerService(FakeBrokerState state) : XksBroker.XksBrokerBase
{
    private static readonly byte[] Metadata = [0x01, 0x00, 0x00, 0x00, 0x01];

    public override async Task<GetKeyMetadataResponse> GetKeyMetadata(GetKeyMetadataRequest request, ServerCallContext context)
    {
        await Observe(request.Key.Keystore, request.RequestMetadata, context);
        var key = Find(request.Key);
        var response = new GetKeyMetadataResponse { KeySpec = "AES_256", KeyStatus = key.Enabled ? KeyStatus.Enabled : KeyStatus.Disabled };
        response.KeyUsage.AddRange(key.Usages);
        return response;
    }

    public override async Task<EncryptResponse> Encrypt(EncryptRequest request, ServerCallContext context)
    {
        await Observe(request.Key.Keystore, request.RequestMetadata, context);
        var key = Find(request.Key);
        Require(key.Enabled, XksErrorName.InvalidStateException, StatusCode.FailedPrecondition, "key disabled");
        Require(key.CanEncrypt, XksErrorName.InvalidKeyUsageException, StatusCode.FailedPrecondition, "key cannot encrypt");
        var iv = RandomNumberGenerator.GetBytes(12);
        var ciphertext = new byte[request.Plaintext.Length];
        var tag = new byte[16];
        var aad = Aad(request.AdditionalAuthenticatedData.Span, Metadata);
        using (var gcm = new AesGcm(key.Material, 16))
        {
            gcm.Encrypt(iv, request.Plaintext.Span, ciphertext, tag, aad);
        }

        var response = new EncryptResponse
        {
            Ciphertext = ByteString.CopyFrom(ciphertext),
            CiphertextMetadata = ByteString.CopyFrom(Metadata),
            InitializationVector = ByteString.CopyFrom(iv),
            AuthenticationTag = ByteString.CopyFrom(tag),
        };
        if (request.CdivAlgorithm == CdivAlgorithm.Sha256)
        {
            Require(key.CanDecrypt, XksErrorName.InvalidKeyUsageException, StatusCode.FailedPrecondition, "CDIV check needs decrypt");
            var cdiv = SHA256.HashData([.. request.AdditionalAuthenticatedData.Span, .. Metadata, .. iv, .. ciphertext, .. tag]);
            response.CiphertextDataIntegrityValue = ByteString.CopyFrom(cdiv);
        }

        return response;
    }

    public override async Task<DecryptResponse> Decrypt(DecryptRequest request, ServerCallContext context)
    {
        await Observe(request.Key.Keystore, request.RequestMetadata, context);
        var key = Find(request.Key);
        Require(key.Enabled, XksErrorName.InvalidStateException, StatusCode.FailedPrecondition, "key disabled");
        Require(key.CanDecrypt, XksErrorName.InvalidKeyUsageException, StatusCode.FailedPrecondition, "key cannot decrypt");
        var plaintext = new byte[request.Ciphertext.Length];
        try
        {
            using var gcm = new AesGcm(key.Material, 16);
            gcm.Decrypt(request.InitializationVector.Span, request.Ciphertext.Span, request.AuthenticationTag.Span, plaintext,
                Aad(request.AdditionalAuthenticatedData.Span, request.CiphertextMetadata.Span));
        }
        catch (AuthenticationTagMismatchException)
        {
            throw Error(XksErrorName.InvalidCiphertextException, StatusCode.InvalidArgument, "tag mismatch");
        }

        return new DecryptResponse { Plaintext = ByteString.CopyFrom(plaintext) };
    }

    public override async Task<GetHealthStatusResponse> GetHealthStatus(GetHealthStatusRequest request, ServerCallContext context)
    {
        await Observe(request.Keystore, request.RequestMetadata, context);
        return new GetHealthStatusResponse
        {
            EkmVendor = "FakeHSM Inc.",
            EkmFleetDetails = { new EkmDetails { Id = "hsm-1", Model = "FakeHSM 1.0", Health = EkmHealth.Active } },
        };
    }

    private async Task Observe(string keystore, RequestMetadata metadata, ServerCallContext context)
    {
        Interlocked.Increment(ref state.Calls);
        state.LastKeystore = keystore;
        state.LastMetadata = metadata;
        state.LastKmsRequestIdHeader = context.RequestHeaders.GetValue("x-kms-request-id");
        state.LastTraceParent = context.RequestHeaders.GetValue("traceparent");
        if (state.Delay > TimeSpan.Zero)
        {
            await Task.Delay(state.Delay);
        }
    }

    private FakeBrokerState.Key Find(KeyReference reference)
        => state.Keys.TryGetValue(reference.ExternalKeyId, out var key)
            ? key
            : throw Error(XksErrorName.KeyNotFoundException, StatusCode.NotFound, "no such key");

    private static void Require(bool condition, XksErrorName name, StatusCode code, string message)
    {
        if (!condition)
        {
            throw Error(name, code, message);
        }
    }

    private static RpcException Error(XksErrorName name, StatusCode code, string message)
    {
        var status = new Google.Rpc.Status
        {
            Code = (int)code,
            Message = message,
            Details = { Any.Pack(new XksError { Name = name, Message = message }) },
        };
        return status.ToRpcException();
    }

    /// <summary>The spec's AAD framing: len16(aad) || aad || len8(md) || md.</summary>
    private static byte[] Aad(ReadOnlySpan<byte> aad, ReadOnlySpan<byte> metadata)
    {
        var framed = new byte[2 + aad.Length + 1 + metadata.Length];
        framed[0] = (byte)(aad.Length >> 8);
        framed[1] = (byte)aad.Length;
        aad.CopyTo(framed.AsSpan(2));
        framed[2 + aad.Length] = (byte)metadata.Length;
        metadata.CopyTo(framed.AsSpan(3 + aad.Length));
        return framed;
    }
}
