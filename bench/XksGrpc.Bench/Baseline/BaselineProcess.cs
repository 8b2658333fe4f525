using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using XksGrpc.Bench.Signing;
using XksGrpc.Bench.Target;

namespace XksGrpc.Bench.Baseline;

/// <summary>
/// Starts <see cref="BaselineServer"/> as a child process of this same binary, so the ceiling
/// is measured on its own threads and GC heap like the proxy's (not on the generator's), and
/// returns a target for it.
/// </summary>
internal sealed class BaselineProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private BaselineProcess(Process process, string directory, XksTarget target)
    {
        _process = process;
        _directory = directory;
        Target = target;
    }

    public XksTarget Target { get; }

    public int ProcessId => _process.Id;

    /// <param name="like">The proxy target: the baseline is signed and addressed the same way (same path, same credential).</param>
    /// <param name="serverGc">Server GC (the Web SDK default) or workstation non-concurrent (what the edge and broker use).</param>
    /// <param name="serverCertificate">The proxy's own server certificate and key (PEM) when known, so both ends run the same TLS; else a self-signed one.</param>
    public static async Task<BaselineProcess> StartAsync(XksTarget? like, (string Cert, string Key)? serverCertificate, bool serverGc, CancellationToken ct)
    {
        string directory = Directory.CreateTempSubdirectory("xksgrpc-bench-").FullName;
        X509Certificate2 certificate;
        X509Certificate2 trustAnchor;
        if (like is not null && serverCertificate is { } pem && File.Exists(pem.Cert) && File.Exists(pem.Key))
        {
            using X509Certificate2 fromPem = X509Certificate2.CreateFromPemFile(pem.Cert, pem.Key);
            certificate = X509CertificateLoader.LoadPkcs12(fromPem.Export(X509ContentType.Pkcs12), null);
            trustAnchor = like.TrustAnchor;
        }
        else
        {
            certificate = SelfSigned();
            trustAnchor = X509CertificateLoader.LoadCertificate(certificate.Export(X509ContentType.Cert));
        }
        string pfx = Path.Combine(directory, "baseline.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pkcs12), ct).ConfigureAwait(false);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(pfx, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }

        var start = new ProcessStartInfo
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = false,
            UseShellExecute = false,
        };
        string self = Environment.ProcessPath ?? throw new InvalidOperationException("cannot find this process's executable");
        start.FileName = self;
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(typeof(BaselineProcess).Assembly.Location);
        }

        foreach (string a in (string[])["serve-baseline", "--port", "0", "--pfx", pfx])
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["DOTNET_gcServer"] = serverGc ? "1" : "0";
        start.Environment["DOTNET_gcConcurrent"] = serverGc ? "1" : "0";

        Process process = Process.Start(start) ?? throw new InvalidOperationException("could not start the baseline server");
        int port;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(20));
            while (true)
            {
                string? line = await process.StandardOutput.ReadLineAsync(timeout.Token).ConfigureAwait(false)
                    ?? throw new InvalidOperationException($"the baseline server exited (code {(process.WaitForExit(1000) ? process.ExitCode : -1)}) before listening");
                if (line.StartsWith(BaselineServer.ReadyPrefix, StringComparison.Ordinal))
                {
                    port = int.Parse(line.AsSpan(BaselineServer.ReadyPrefix.Length), System.Globalization.CultureInfo.InvariantCulture);
                    break;
                }
            }
        }
        catch
        {
            process.Kill();
            process.Dispose();
            throw;
        }

        var target = new XksTarget
        {
            Name = "baseline",
            Endpoint = new Uri($"https://127.0.0.1:{port}"),
            UriPath = like?.UriPath ?? "/baseline/kms/xks/v1",
            Signer = like?.Signer ?? new SigV4Signer("BASELINEACCESSKEYID2345", "baseline-secret", "us-east-1"),
            TrustAnchor = trustAnchor,
            IsBaseline = true,
        };
        return new BaselineProcess(process, directory, target);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            // Closing its standard input is the child's signal to stop; kill it if it does not.
            _process.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                await _process.WaitForExitAsync(wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _process.Kill();
            }
        }
        finally
        {
            _process.Dispose();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>A throwaway self-signed P-256 certificate for 127.0.0.1/localhost; it is its own trust anchor.</summary>
    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=xksgrpc-bench-baseline", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 cert = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }
}
