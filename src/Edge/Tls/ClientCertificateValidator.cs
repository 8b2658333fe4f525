using System.Collections.Frozen;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using XksGrpc.Files;

namespace XksGrpc.Edge.Tls;

/// <summary>
/// Decides whether a TLS client certificate may connect (spec "Authentication": an XKS proxy supporting
/// mTLS MUST let the customer configure the client certificate's subject name and root CA, and MUST
/// terminate the TLS handshake for a certificate with a different subject or chained to a different CA;
/// KMS presents CN=<c>cks.kms.&lt;region&gt;.amazonaws.com</c>).
/// </summary>
/// <remarks>
/// <para>Wire it as Kestrel's <c>HttpsConnectionAdapterOptions.ClientCertificateValidation</c> (with
/// <c>ClientCertificateMode.RequireCertificate</c>): returning false makes the server abort the handshake with a
/// TLS alert, so no HTTP exchange ever happens. With RequireCertificate a client sending no certificate fails
/// the handshake before this is called; <see cref="Validate"/> still rejects a null certificate.</para>
/// <para>A certificate is accepted only when ALL hold:</para>
/// <list type="number">
/// <item>it is inside its validity period (by the injected clock);</item>
/// <item>its single subject CN, or one of its DNS SANs, equals one of the allowed names (ASCII case-insensitive, no wildcards);</item>
/// <item>if it has an Extended Key Usage extension, it includes clientAuth (1.3.6.1.5.5.7.3.2);</item>
/// <item>it chains to a self-signed certificate of the configured PEM bundle, built with
/// <see cref="X509ChainTrustMode.CustomRootTrust"/>: system roots are NOT trusted. Non-self-signed certificates
/// of the bundle, and intermediates the client sent, serve only as intermediates.</item>
/// </list>
/// <para>Revocation is NOT checked (<see cref="X509RevocationMode.NoCheck"/>): fetching CRLs/OCSP inside every
/// handshake would make key availability depend on a CA's responders and add their latency to connections;
/// the pinned CA and subject, short-lived KMS certificates, and SigV4 on every request are the controls. The
/// handshake's own <see cref="SslPolicyErrors"/> is ignored except for a missing certificate, because it was
/// computed against the system trust store, which is exactly what must not decide.</para>
/// <para>Thread-safe. <see cref="Update"/> and reloads swap an immutable configuration atomically;
/// handshakes in flight finish with the configuration they started with.</para>
/// </remarks>
internal sealed class ClientCertificateValidator : IDisposable
{
    /// <summary>The clientAuth extended key usage (RFC 5280 §4.2.1.12).</summary>
    public const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private const string AnyExtendedKeyUsageOid = "2.5.29.37.0";
    private const string CommonNameOid = "2.5.4.3";

    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private volatile TrustConfiguration _trust;
    private FileChangeMonitor? _monitor;
    private TimeSpan? _pollInterval;
    private long _rejections;
    private volatile string? _lastReloadError;
    private bool _disposed;

    /// <summary>Builds a validator; throws <see cref="InvalidOperationException"/> for an unusable bundle or name list.</summary>
    /// <param name="caPemPath">PEM file of the CA certificate(s) KMS's client certificate must chain to.</param>
    /// <param name="allowedNames">Subject CNs / DNS names accepted, e.g. <c>cks.kms.us-east-1.amazonaws.com</c>.</param>
    public ClientCertificateValidator(string caPemPath, IEnumerable<string> allowedNames, TimeProvider? timeProvider = null)
    {
        _clock = timeProvider ?? TimeProvider.System;
        _trust = TrustConfiguration.Load(caPemPath, allowedNames);
    }

    /// <summary>Raised after each automatic or manual reload attempt that found a changed bundle (for logs).</summary>
    public event Action<CaBundleReloadResult>? Reloaded;

    /// <summary>The full path of the CA bundle in force.</summary>
    public string CaPath => _trust.Path;

    /// <summary>The allowed names in force.</summary>
    public IReadOnlyCollection<string> AllowedNames => _trust.Names;

    /// <summary>Subjects of the trust anchors in force.</summary>
    public IReadOnlyList<string> TrustAnchors => _trust.Roots.Select(r => r.Subject).ToArray();

    /// <summary>Certificates rejected since start (a metric).</summary>
    public long Rejections => Interlocked.Read(ref _rejections);

    /// <summary>Why the last reload of the bundle failed (the previous bundle stayed in force); null after a good one.</summary>
    public string? LastReloadError => _lastReloadError;

    /// <summary>
    /// Replaces the bundle path and allowed names at once (e.g. on configuration reload). Throws
    /// <see cref="InvalidOperationException"/> and keeps the current configuration if the new one is unusable.
    /// </summary>
    public void Update(string caPemPath, IEnumerable<string> allowedNames)
    {
        TrustConfiguration next = TrustConfiguration.Load(caPemPath, allowedNames);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            bool moved = next.Path != _trust.Path;
            _trust = next;
            _lastReloadError = null;
            if (moved && _pollInterval is TimeSpan poll)
            {
                _monitor?.Dispose();
                _monitor = new FileChangeMonitor(next.Path, () => ReloadIfChanged(), poll, _clock);
            }
        }
    }

    /// <summary>
    /// Watches the bundle file and reloads it when its content changes (file-system events plus a poll every
    /// <paramref name="pollInterval"/>, default 2 s). A bad new bundle is rejected and the old one stays.
    /// </summary>
    public void EnableAutoReload(TimeSpan? pollInterval = null)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _pollInterval = pollInterval ?? TimeSpan.FromSeconds(2);
            _monitor?.Dispose();
            _monitor = new FileChangeMonitor(_trust.Path, () => ReloadIfChanged(), _pollInterval.Value, _clock);
        }
    }

    /// <summary>Re-reads the bundle; swaps it in if its content changed and is valid. Null when unchanged.</summary>
    public CaBundleReloadResult? ReloadIfChanged()
    {
        CaBundleReloadResult result;
        lock (_gate)
        {
            TrustConfiguration current = _trust;
            string? hash = TrustConfiguration.TryHash(current.Path);
            if (hash is not null && hash == current.Hash)
            {
                return null;
            }

            try
            {
                _trust = TrustConfiguration.Load(current.Path, current.Names);
                _lastReloadError = null;
                result = new CaBundleReloadResult(current.Path, true, _trust.Roots.Count, null);
            }
            catch (InvalidOperationException ex)
            {
                if (_lastReloadError == ex.Message)
                {
                    return null; // the same bad content: already reported
                }

                _lastReloadError = ex.Message;
                result = new CaBundleReloadResult(current.Path, false, current.Roots.Count, ex.Message);
            }
        }

        try
        {
            Reloaded?.Invoke(result);
        }
        catch (Exception)
        {
            // A logging handler must not break reloading.
        }

        return result;
    }

    /// <summary>
    /// Validates a client certificate (see the type's remarks). Signature-compatible with Kestrel's
    /// <c>ClientCertificateValidation</c> and SslStream's <c>RemoteCertificateValidationCallback</c>.
    /// </summary>
    /// <param name="reason">Why it was rejected, or a summary of what was accepted; safe to log (no key material).</param>
    public bool Validate(X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors, out string reason)
    {
        bool accepted = Check(_trust, certificate, chain, errors, out reason);
        if (!accepted)
        {
            Interlocked.Increment(ref _rejections);
        }

        return accepted;
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _monitor?.Dispose();
            _monitor = null;
        }
    }

    private bool Check(TrustConfiguration trust, X509Certificate2? certificate, X509Chain? presented, SslPolicyErrors errors, out string reason)
    {
        if (certificate is null || errors.HasFlag(SslPolicyErrors.RemoteCertificateNotAvailable))
        {
            reason = "no client certificate was presented";
            return false;
        }

        string subject = certificate.Subject;
        DateTime now = _clock.GetUtcNow().UtcDateTime;
        if (now < certificate.NotBefore.ToUniversalTime())
        {
            reason = $"client certificate \"{subject}\" is not valid before {certificate.NotBefore.ToUniversalTime():u}";
            return false;
        }

        if (now > certificate.NotAfter.ToUniversalTime())
        {
            reason = $"client certificate \"{subject}\" expired on {certificate.NotAfter.ToUniversalTime():u}";
            return false;
        }

        if (!MatchesAllowedName(certificate, trust.Names, out string names))
        {
            reason = $"client certificate \"{subject}\" ({names}) is not one of the allowed names [{string.Join(", ", trust.Names)}]";
            return false;
        }

        if (!AllowsClientAuth(certificate))
        {
            reason = $"client certificate \"{subject}\" has an Extended Key Usage without clientAuth";
            return false;
        }

        using var chain = new X509Chain();
        X509ChainPolicy policy = chain.ChainPolicy;
        policy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        policy.CustomTrustStore.AddRange(trust.Roots);
        policy.ExtraStore.AddRange(trust.Intermediates);
        if (presented is not null)
        {
            // Intermediates the client sent: usable to build a path, never as anchors.
            policy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
            foreach (X509ChainElement element in presented.ChainElements)
            {
                if (!element.Certificate.RawDataMemory.Span.SequenceEqual(certificate.RawDataMemory.Span))
                {
                    policy.ExtraStore.Add(element.Certificate);
                }
            }
        }

        policy.RevocationMode = X509RevocationMode.NoCheck;
        policy.VerificationTime = now;
        policy.ApplicationPolicy.Add(new Oid(ClientAuthOid));
        policy.DisableCertificateDownloads = true;
        try
        {
            if (!chain.Build(certificate))
            {
                string status = string.Join(", ", chain.ChainStatus.Select(s => s.Status).Distinct());
                reason = $"client certificate \"{subject}\" (issuer \"{certificate.Issuer}\") does not chain to the configured client CA ({status})";
                return false;
            }

            reason = $"accepted client certificate \"{subject}\" issued by \"{certificate.Issuer}\"";
            return true;
        }
        finally
        {
            for (int i = 0; i < chain.ChainElements.Count; i++)
            {
                // Elements are copies made for this chain; never dispose a caller's or the bundle's instance.
                X509Certificate2 built = chain.ChainElements[i].Certificate;
                if (!ReferenceEquals(built, certificate) && !trust.Roots.Contains(built) && !trust.Intermediates.Contains(built)
                    && !policy.ExtraStore.Contains(built))
                {
                    built.Dispose();
                }
            }
        }
    }

    /// <summary>The subject's single CN, or any DNS SAN, is an allowed name. Several CNs are refused as ambiguous.</summary>
    private static bool MatchesAllowedName(X509Certificate2 certificate, FrozenSet<string> allowed, out string found)
    {
        var commonNames = new List<string>();
        foreach (X500RelativeDistinguishedName rdn in certificate.SubjectName.EnumerateRelativeDistinguishedNames())
        {
            if (!rdn.HasMultipleElements && rdn.GetSingleElementType().Value == CommonNameOid && rdn.GetSingleElementValue() is { } cn)
            {
                commonNames.Add(cn);
            }
        }

        var dnsNames = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                dnsNames.AddRange(san.EnumerateDnsNames());
            }
        }

        found = $"CN [{string.Join(", ", commonNames)}], DNS [{string.Join(", ", dnsNames)}]";
        if (commonNames.Count > 1)
        {
            found += ": more than one CN";
            return false;
        }

        return commonNames.Any(allowed.Contains) || dnsNames.Any(allowed.Contains);
    }

    private static bool AllowsClientAuth(X509Certificate2 certificate)
    {
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509EnhancedKeyUsageExtension eku)
            {
                foreach (Oid usage in eku.EnhancedKeyUsages)
                {
                    if (usage.Value is ClientAuthOid or AnyExtendedKeyUsageOid)
                    {
                        return true;
                    }
                }

                return false;
            }
        }

        return true; // no EKU extension: not restricted
    }

    /// <summary>An immutable, loaded configuration: anchors, intermediates, names, and the bundle's hash.</summary>
    private sealed class TrustConfiguration
    {
        private TrustConfiguration(string path, string hash, X509Certificate2Collection roots, X509Certificate2Collection intermediates, FrozenSet<string> names)
        {
            Path = path;
            Hash = hash;
            Roots = roots;
            Intermediates = intermediates;
            Names = names;
        }

        public string Path { get; }

        public string Hash { get; }

        public X509Certificate2Collection Roots { get; }

        public X509Certificate2Collection Intermediates { get; }

        public FrozenSet<string> Names { get; }

        public static TrustConfiguration Load(string caPemPath, IEnumerable<string> allowedNames)
        {
            ArgumentException.ThrowIfNullOrEmpty(caPemPath);
            ArgumentNullException.ThrowIfNull(allowedNames);
            string path = System.IO.Path.GetFullPath(caPemPath);
            var problems = new List<string>();
            FrozenSet<string> names = allowedNames.Select(n => n?.Trim() ?? string.Empty).ToFrozenSet(StringComparer.OrdinalIgnoreCase);
            if (names.Count == 0 || names.Contains(string.Empty))
            {
                problems.Add("the allowed client certificate names must be a non-empty list of non-empty names");
            }

            var roots = new X509Certificate2Collection();
            var intermediates = new X509Certificate2Collection();
            string hash = string.Empty;
            try
            {
                byte[] bytes = File.ReadAllBytes(path);
                hash = Convert.ToHexStringLower(SHA256.HashData(bytes));
                var all = new X509Certificate2Collection();
                all.ImportFromPem(System.Text.Encoding.UTF8.GetString(bytes));
                foreach (X509Certificate2 certificate in all)
                {
                    bool selfSigned = certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);
                    (selfSigned ? roots : intermediates).Add(certificate);
                }

                if (all.Count == 0)
                {
                    problems.Add($"the client CA file {path} contains no PEM certificate");
                }
                else if (roots.Count == 0)
                {
                    problems.Add($"the client CA file {path} contains no self-signed (root) CA certificate to anchor trust");
                }
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or CryptographicException)
            {
                problems.Add($"cannot load the client CA file {path}: {ex.Message}");
            }

            if (problems.Count > 0)
            {
                throw new InvalidOperationException(string.Join("; ", problems));
            }

            return new TrustConfiguration(path, hash, roots, intermediates, names);
        }

        public static string? TryHash(string path)
        {
            try
            {
                return Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }
}

/// <summary>The outcome of reloading the client CA bundle.</summary>
/// <param name="Accepted">True when the new bundle is in force; false when it was rejected and the previous one stays.</param>
/// <param name="RootCount">Trust anchors in force after the attempt.</param>
internal sealed record CaBundleReloadResult(string Path, bool Accepted, int RootCount, string? Error);
