using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Options;
using XksGrpc.Edge.Configuration;

namespace XksGrpc.Edge.Tls;

/// <summary>
/// The edge's client-certificate check (spec, "Authentication"): KMS's certificate must chain to
/// Edge:Tls:ClientCertificate:CaFile and carry one of AllowedSubjects. Delegates to
/// <see cref="ClientCertificateValidator"/> (CA bundle reloaded on change).
/// </summary>
internal sealed class GatedClientCertificateCheck : IClientCertificateValidator, IDisposable
{
    private readonly ClientCertificateValidator _validator;

    public GatedClientCertificateCheck(IOptions<EdgeOptions> options, TimeProvider time)
    {
        var client = options.Value.Tls.ClientCertificate;
        _validator = new ClientCertificateValidator(client.CaFile!, client.AllowedSubjects, time);
        _validator.EnableAutoReload();
    }

    public bool Validate(X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors)
        => _validator.Validate(certificate, chain, errors, out _);

    /// <summary>For the handshake gate, which sees the leaf and the other certificates the client sent.</summary>
    public bool Validate(X509Certificate2 leaf, X509Certificate2Collection others)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.ExtraStore.AddRange(others);
        return _validator.Validate(leaf, chain, SslPolicyErrors.None, out _);
    }

    public void Dispose() => _validator.Dispose();
}
