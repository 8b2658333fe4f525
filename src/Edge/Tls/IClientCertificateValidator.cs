using System.Net.Security;
using System.Security.Cryptography.X509Certificates;

namespace XksGrpc.Edge.Tls;

/// <summary>
/// Decides, during the TLS handshake, whether KMS's client certificate is acceptable (spec,
/// "Authentication": configured subject name and root CA; otherwise the handshake MUST be
/// terminated). Registered by the security layer (issue 5); Kestrel calls it through
/// <c>HttpsConnectionAdapterOptions.ClientCertificateValidation</c>.
/// </summary>
internal interface IClientCertificateValidator
{
    bool Validate(X509Certificate2 certificate, X509Chain? chain, SslPolicyErrors errors);
}
