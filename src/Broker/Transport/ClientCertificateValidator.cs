using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using XksGrpc.Broker.Configuration;
using XksGrpc.Broker.Logging;

namespace XksGrpc.Broker.Transport;

/// <summary>
/// Mutual TLS on the TCP listener: the edge's client certificate must chain to the pinned
/// ClientCaFile (and nothing else: the system store is not trusted) and carry a subject CN from
/// AllowedClientSubjects. A refusal ends the TLS handshake.
/// </summary>
internal sealed class ClientCertificateValidator
{
    private readonly X509Certificate2Collection _roots;
    private readonly HashSet<string> _subjects;
    private readonly ILogger _logger;

    public ClientCertificateValidator(TcpListenOptions options, ILogger logger)
    {
        _roots = [];
        _roots.ImportFromPemFile(options.ClientCaFile!);
        _subjects = new HashSet<string>(options.AllowedClientSubjects, StringComparer.Ordinal);
        _logger = logger;
    }

    public bool Validate(X509Certificate2? certificate, X509Chain? presentedChain, SslPolicyErrors errors)
    {
        if (certificate is null)
        {
            BrokerLog.ClientCertificateRejected(_logger, "no client certificate");
            return false;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.2")); // clientAuth
        if (presentedChain is not null)
        {
            foreach (var element in presentedChain.ChainElements)
            {
                chain.ChainPolicy.ExtraStore.Add(element.Certificate);
            }
        }

        if (!chain.Build(certificate))
        {
            var status = chain.ChainStatus.Length > 0 ? chain.ChainStatus[0].Status.ToString() : "untrusted";
            BrokerLog.ClientCertificateRejected(_logger, $"'{certificate.Subject}' does not chain to the pinned client CA ({status})");
            return false;
        }

        var cn = certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false);
        if (!_subjects.Contains(cn))
        {
            BrokerLog.ClientCertificateRejected(_logger, $"subject CN '{cn}' is not allowed");
            return false;
        }

        return true;
    }
}
