using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using XksGrpc.Bench.Cli;
using XksGrpc.Bench.Signing;

namespace XksGrpc.Bench.Target;

/// <summary>An XKS endpoint to load: base URI, URI path, SigV4 credential and TLS trust.</summary>
internal sealed class XksTarget
{
    public required string Name { get; init; }

    /// <summary>Scheme, host and port, e.g. https://localhost:8443.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>The XksProxyUriPath, e.g. /ks1/kms/xks/v1.</summary>
    public required string UriPath { get; init; }

    public required SigV4Signer Signer { get; init; }

    public required X509Certificate2 TrustAnchor { get; init; }

    public X509Certificate2? ClientCertificate { get; init; }

    /// <summary>The baseline answers every POST with the same JSON, so decrypt bodies are synthetic there.</summary>
    public bool IsBaseline { get; init; }

    /// <summary>The Host header (and HTTP/2 :authority) exactly as sent, and therefore as signed.</summary>
    public string Host => Endpoint.IsDefaultPort ? Endpoint.IdnHost : $"{Endpoint.IdnHost}:{Endpoint.Port}";

    public string Description => $"{Endpoint.GetLeftPart(UriPartial.Authority)}{UriPath}";

    /// <summary>
    /// A handler whose pool holds at most <paramref name="connections"/> connections, validating
    /// the server against <see cref="TrustAnchor"/> only (custom root trust, host name checked).
    /// </summary>
    public SocketsHttpHandler CreateHandler(int connections, bool http2)
    {
        var chainPolicy = new X509ChainPolicy
        {
            TrustMode = X509ChainTrustMode.CustomRootTrust,
            RevocationMode = X509RevocationMode.NoCheck,
        };
        chainPolicy.CustomTrustStore.Add(TrustAnchor);

        var ssl = new SslClientAuthenticationOptions
        {
            CertificateChainPolicy = chainPolicy,
            ClientCertificates = ClientCertificate is null ? null : new X509CertificateCollection { ClientCertificate },
        };

        return new SocketsHttpHandler
        {
            MaxConnectionsPerServer = connections,
            EnableMultipleHttp2Connections = http2,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(5),
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            UseProxy = false,
            AllowAutoRedirect = false,
            SslOptions = ssl,
        };
    }

    /// <summary>Resolves the lab (or explicitly named) target from the options.</summary>
    public static XksTarget FromOptions(BenchOptions o)
    {
        string state = o.StateDir;
        string port = Environment.GetEnvironmentVariable("XKS_LAB_PORT") is { Length: > 0 } p ? p : "8443";
        var endpoint = new Uri(o.Endpoint ?? $"https://localhost:{port}");
        if (endpoint.Scheme != Uri.UriSchemeHttps)
        {
            throw new UsageException($"--endpoint: '{endpoint}' must be https");
        }

        string? uriPath = o.UriPath;
        string? accessKeyId = o.AccessKeyId;
        string? secret = o.SecretAccessKey;
        if (uriPath is null || accessKeyId is null || secret is null)
        {
            string kmsFile = o.KmsFile ?? FirstKmsFile(state);
            (string filePath, string fileId, string fileSecret) = ReadKmsFile(kmsFile);
            uriPath ??= filePath;
            accessKeyId ??= fileId;
            secret ??= fileSecret;
        }

        string caFile = o.CaFile ?? Path.Combine(state, "tls", "ca.pem");
        if (!File.Exists(caFile))
        {
            throw new UsageException($"trust anchor '{caFile}' not found (is the lab set up? scripts/lab.sh; or pass --ca)");
        }

        X509Certificate2 ca = X509CertificateLoader.LoadCertificateFromFile(caFile);

        string? certFile = o.ClientCertFile;
        string? keyFile = o.ClientKeyFile;
        if (certFile is null && Environment.GetEnvironmentVariable("XKS_LAB_MTLS") == "1")
        {
            certFile = Path.Combine(state, "tls", "client.pem");
            keyFile ??= Path.Combine(state, "tls", "client.key");
        }

        X509Certificate2? client = null;
        if (certFile is not null)
        {
            using X509Certificate2 pem = X509Certificate2.CreateFromPemFile(certFile, keyFile);

            // Round-trip through PKCS#12 so the private key is usable by SslStream on every platform.
            client = X509CertificateLoader.LoadPkcs12(pem.Export(X509ContentType.Pkcs12), null);
        }

        return new XksTarget
        {
            Name = "proxy",
            Endpoint = endpoint,
            UriPath = uriPath.TrimEnd('/'),
            Signer = new SigV4Signer(accessKeyId, secret, o.Region),
            TrustAnchor = ca,
            ClientCertificate = client,
        };
    }

    private static string FirstKmsFile(string state)
    {
        string dir = Path.Combine(state, "kms");
        string[] files = Directory.Exists(dir) ? Directory.GetFiles(dir, "*.json") : [];
        if (files.Length == 0)
        {
            throw new UsageException($"no KMS configuration file in '{dir}' (is the lab set up? scripts/lab.sh; or pass --kms-file / --endpoint with --uri-path, --access-key-id, --secret-env)");
        }

        Array.Sort(files, StringComparer.Ordinal);
        return files[0];
    }

    private static (string UriPath, string AccessKeyId, string Secret) ReadKmsFile(string file)
    {
        using JsonDocument doc = JsonDocument.Parse(File.ReadAllBytes(file));
        JsonElement root = doc.RootElement;
        try
        {
            string uriPath = root.GetProperty("XksProxyUriPath").GetString()!;
            JsonElement cred = root.GetProperty("XksProxyAuthenticationCredential");
            return (uriPath, cred.GetProperty("AccessKeyId").GetString()!, cred.GetProperty("RawSecretAccessKey").GetString()!);
        }
        catch (KeyNotFoundException)
        {
            throw new UsageException($"'{file}' is not a KMS proxy configuration file (XksProxyUriPath, XksProxyAuthenticationCredential.AccessKeyId/RawSecretAccessKey)");
        }
    }
}
