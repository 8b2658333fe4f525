using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace XksGrpc.Edge.Tls.Handshake;

/// <summary>
/// Mutual TLS that refuses a bad client certificate with a fatal handshake_failure alert (XKS spec, mutual TLS:
/// the proxy "MUST terminate the TLS handshake if the client presents a certificate containing a different
/// subject name or chained to a different certificate authority"; AWS's test_negative_mtls looks for
/// "TLS alert, handshake failure"). .NET 10 on Linux closes such connections without any alert, so a
/// connection middleware below TLS reads the client's plaintext TLS 1.2 Certificate message and answers
/// for it before the TLS stack sees it.
/// </summary>
public static class ClientCertificateGateExtensions
{
    /// <summary>
    /// Installs the gate on raw connection bytes. Must be called <b>before</b> <c>UseHttps</c>, whose options must
    /// allow only TLS 1.2 and require a client certificate; prefer <see cref="UseHttpsWithClientCertificateGate"/>,
    /// which does all of that. <paramref name="validate"/> gets the leaf and the other certificates the client sent
    /// (disposed right after the call: copy what must outlive it) and may be called concurrently.
    /// </summary>
    public static ListenOptions UseClientCertificateGate(
        this ListenOptions listenOptions,
        Func<X509Certificate2, X509Certificate2Collection, bool> validate,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(listenOptions);
        ArgumentNullException.ThrowIfNull(validate);
        ArgumentNullException.ThrowIfNull(logger);

        listenOptions.Use(next => context => GateAsync(next, context, validate, logger));
        return listenOptions;
    }

    /// <summary>
    /// The gate, then HTTPS restricted to TLS 1.2 with a required client certificate, renegotiation off, and the same
    /// validator run again by the TLS stack as defense in depth (should the gate ever be bypassed, .NET still refuses
    /// the certificate, only without the alert). <paramref name="https"/> supplies the server certificate and
    /// anything else; its protocols, client certificate mode and validation callback are overwritten.
    /// </summary>
    public static ListenOptions UseHttpsWithClientCertificateGate(
        this ListenOptions listenOptions,
        HttpsConnectionAdapterOptions https,
        Func<X509Certificate2, X509Certificate2Collection, bool> validate,
        ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(https);
        listenOptions.UseClientCertificateGate(validate, logger);

        // TLS 1.3 encrypts the client's Certificate: the gate would refuse every connection (fail closed).
        https.SslProtocols = SslProtocols.Tls12;
        https.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
        https.ClientCertificateValidation = (certificate, chain, _) =>
        {
            var extra = new X509Certificate2Collection();
            if (chain is not null)
            {
                extra.AddRange(chain.ChainPolicy.ExtraStore);
            }

            try
            {
                return validate(certificate, extra);
            }
            catch (Exception)
            {
                return false;
            }
        };
        Action<ConnectionContext, System.Net.Security.SslServerAuthenticationOptions>? onAuthenticate = https.OnAuthenticate;
        https.OnAuthenticate = (context, options) =>
        {
            onAuthenticate?.Invoke(context, options);

            // After ChangeCipherSpec the gate is blind; a renegotiated handshake would be encrypted.
            options.AllowRenegotiation = false;
            options.EnabledSslProtocols = SslProtocols.Tls12;
        };

        return listenOptions.UseHttps(https);
    }

    private static async Task GateAsync(
        ConnectionDelegate next,
        ConnectionContext context,
        Func<X509Certificate2, X509Certificate2Collection, bool> validate,
        ILogger logger)
    {
        var original = context.Transport;
        context.Transport = new GatedTransport(original, validate, logger, context.ConnectionId);
        try
        {
            await next(context).ConfigureAwait(false);
        }
        finally
        {
            context.Transport = original;
        }
    }
}
