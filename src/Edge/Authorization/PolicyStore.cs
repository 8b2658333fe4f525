using System.Security.Cryptography;
using System.Text;
using XksGrpc.Files;

namespace XksGrpc.Edge.Authorization;

/// <summary>
/// The current secondary-authorization policy of each keystore, reloaded without a restart when
/// its file changes (spec "Authorization"; issue 5: an invalid policy file is rejected and the last
/// good one stays in force).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>A keystore without a policy file is not subject to secondary authorization: <see cref="Evaluate"/>
/// answers Allow with rule <c>"(no policy)"</c>.</item>
/// <item>A keystore whose policy file never loaded successfully fails closed: Deny with rule
/// <c>"(policy unavailable)"</c>. At start-up use <see cref="Create"/>, which refuses such a configuration.</item>
/// <item>GetHealthStatus is always allowed with rule <c>"(health exempt)"</c>; the pipeline may equally skip
/// the call for it.</item>
/// <item>Changes are noticed by a <see cref="FileChangeMonitor"/> (watcher + poll every
/// <see cref="DefaultPollInterval"/>); content identical to the last attempt is ignored, so one bad edit
/// counts one rejected reload.</item>
/// </list>
/// Thread-safe: <see cref="Evaluate"/> reads immutable snapshots and never blocks on a reload.
/// </remarks>
internal sealed class PolicyStore : IDisposable
{
    /// <summary>How often policy files are polled when no file-system notification arrives.</summary>
    public static readonly TimeSpan DefaultPollInterval = TimeSpan.FromSeconds(2);

    private const int MaxPolicyBytes = 1 << 20;
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly TimeSpan _pollInterval;
    private readonly TimeProvider _clock;
    private readonly Lock _configureGate = new();
    private volatile Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private long _rejectedReloads;
    private volatile string? _lastError;
    private bool _disposed;

    public PolicyStore(TimeSpan? pollInterval = null, TimeProvider? timeProvider = null)
    {
        _pollInterval = pollInterval ?? DefaultPollInterval;
        _clock = timeProvider ?? TimeProvider.System;
    }

    /// <summary>
    /// Raised after every load attempt that saw new content (accepted or rejected), so the edge can log
    /// it. Raised on a timer or watcher thread; handlers must be quick and must not throw.
    /// </summary>
    public event Action<PolicyLoadResult>? Loaded;

    /// <summary>How many reloads were rejected since start (a metric / log field).</summary>
    public long RejectedReloads => Interlocked.Read(ref _rejectedReloads);

    /// <summary>The most recent rejection, e.g. <c>ks1: /etc/xks/ks1.policy.json: rules[0].effect: …</c>; null if none.</summary>
    public string? LastError => _lastError;

    /// <summary>
    /// Builds a store for start-up: loads every configured file and throws an
    /// <see cref="InvalidOperationException"/> listing every problem if any of them is invalid.
    /// </summary>
    /// <param name="policyFiles">Keystore name → policy file path (absolute or relative to the working
    /// directory); a null or empty path means no secondary authorization for that keystore.</param>
    public static PolicyStore Create(IReadOnlyDictionary<string, string?> policyFiles, TimeSpan? pollInterval = null, TimeProvider? timeProvider = null)
    {
        var store = new PolicyStore(pollInterval, timeProvider);
        var failures = store.Configure(policyFiles).Where(r => !r.Accepted).ToList();
        if (failures.Count > 0)
        {
            store.Dispose();
            throw new InvalidOperationException(
                "Invalid secondary authorization policy: " + string.Join("; ", failures.Select(f => f.Describe())));
        }

        return store;
    }

    /// <summary>
    /// Sets which file each keystore uses (at start and on configuration reload). Keystores whose path is
    /// unchanged keep their state; new or changed paths are loaded now, and their results returned.
    /// </summary>
    public IReadOnlyList<PolicyLoadResult> Configure(IReadOnlyDictionary<string, string?> policyFiles)
    {
        ArgumentNullException.ThrowIfNull(policyFiles);
        var results = new List<PolicyLoadResult>();
        lock (_configureGate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Dictionary<string, Entry> old = _entries;
            var next = new Dictionary<string, Entry>(StringComparer.Ordinal);
            foreach ((string keystore, string? file) in policyFiles)
            {
                if (string.IsNullOrWhiteSpace(file))
                {
                    continue;
                }

                string path = Path.GetFullPath(file);
                if (old.TryGetValue(keystore, out Entry? existing) && existing.Path == path)
                {
                    next[keystore] = existing;
                    continue;
                }

                // Watch first, then load: an edit in between is then seen by the watcher rather than lost.
                var entry = new Entry(keystore, path);
                entry.Monitor = new FileChangeMonitor(path, () => Load(entry), _pollInterval, _clock);
                results.Add(Load(entry) ?? Describe(entry));
                next[keystore] = entry;
            }

            _entries = next;
            foreach ((string keystore, Entry entry) in old)
            {
                if (!next.TryGetValue(keystore, out Entry? kept) || !ReferenceEquals(kept, entry))
                {
                    entry.Monitor?.Dispose();
                }
            }
        }

        return results;
    }

    /// <summary>Decides one request against its keystore's current policy (see the type's remarks).</summary>
    public AuthorizationDecision Evaluate(AuthorizationRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Api == XksApis.GetHealthStatus)
        {
            return AuthorizationDecision.HealthExempt;
        }

        if (!_entries.TryGetValue(request.Keystore, out Entry? entry))
        {
            return NoPolicy;
        }

        AuthorizationPolicy? policy = entry.Policy;
        return policy is null ? Unavailable : policy.Evaluate(request);
    }

    /// <summary>The current state of a keystore's policy, or null when it has none.</summary>
    public PolicyStatus? GetStatus(string keystore)
    {
        if (!_entries.TryGetValue(keystore, out Entry? entry))
        {
            return null;
        }

        return new PolicyStatus(keystore, entry.Path, entry.Policy is not null, entry.PolicyHash, entry.Policy?.Rules.Count ?? 0, entry.LoadedAt, entry.LastError);
    }

    /// <summary>Checks every file now instead of waiting for the watcher or the poll (tests, SIGHUP).</summary>
    public IReadOnlyList<PolicyLoadResult> CheckForChanges()
    {
        var results = new List<PolicyLoadResult>();
        foreach (Entry entry in _entries.Values)
        {
            if (Load(entry) is { } result)
            {
                results.Add(result);
            }
        }

        return results;
    }

    public void Dispose()
    {
        lock (_configureGate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (Entry entry in _entries.Values)
            {
                entry.Monitor?.Dispose();
            }
        }
    }

    private static readonly AuthorizationDecision NoPolicy =
        new(true, AuthorizationDecision.NoPolicyRule, "the keystore has no secondary authorization policy");

    private static readonly AuthorizationDecision Unavailable =
        new(false, AuthorizationDecision.PolicyUnavailableRule, "the keystore's policy file has never loaded successfully");

    /// <summary>Loads the entry's file if its content differs from the last attempt; null when unchanged.</summary>
    private PolicyLoadResult? Load(Entry entry)
    {
        lock (entry.Gate)
        {
            string attempt;
            AuthorizationPolicy? policy = null;
            IReadOnlyList<string> errors;
            try
            {
                var info = new FileInfo(entry.Path);
                if (info.Exists && info.Length > MaxPolicyBytes)
                {
                    throw new IOException($"larger than {MaxPolicyBytes} bytes");
                }

                byte[] bytes = File.ReadAllBytes(entry.Path);
                attempt = Convert.ToHexStringLower(SHA256.HashData(bytes));
                if (attempt == entry.LastAttempt)
                {
                    return null;
                }

                ReadOnlySpan<byte> content = bytes.AsSpan();
                if (content.StartsWith("\uFEFF"u8))
                {
                    content = content[3..];
                }

                AuthorizationPolicy.TryParse(StrictUtf8.GetString(content), out policy, out errors);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or DecoderFallbackException)
            {
                string message = ex is DecoderFallbackException ? "not valid UTF-8" : $"cannot read the file: {ex.Message}";
                attempt = "unreadable: " + message;
                if (attempt == entry.LastAttempt)
                {
                    return null;
                }

                errors = [message];
            }

            entry.LastAttempt = attempt;
            PolicyLoadResult result;
            if (policy is not null)
            {
                entry.Policy = policy;
                entry.PolicyHash = attempt;
                entry.LoadedAt = _clock.GetUtcNow();
                entry.LastError = null;
                result = new PolicyLoadResult(entry.Keystore, entry.Path, true, attempt, policy.Rules.Count, [], PolicyInForce: true);
            }
            else
            {
                Interlocked.Increment(ref _rejectedReloads);
                entry.LastError = string.Join("; ", errors);
                result = new PolicyLoadResult(entry.Keystore, entry.Path, false, attempt.StartsWith("unreadable", StringComparison.Ordinal) ? null : attempt, 0, errors, entry.Policy is not null);
                _lastError = result.Describe();
            }

            try
            {
                Loaded?.Invoke(result);
            }
            catch (Exception)
            {
                // A logging handler must not break reloading.
            }

            return result;
        }
    }

    /// <summary>The state of an entry whose current content a concurrent load already handled.</summary>
    private static PolicyLoadResult Describe(Entry entry)
    {
        AuthorizationPolicy? policy = entry.Policy;
        return policy is not null
            ? new PolicyLoadResult(entry.Keystore, entry.Path, true, entry.PolicyHash, policy.Rules.Count, [], true)
            : new PolicyLoadResult(entry.Keystore, entry.Path, false, null, 0, [entry.LastError ?? "not loaded"], false);
    }

    private sealed class Entry(string keystore, string path)
    {
        public readonly Lock Gate = new();

        public string Keystore { get; } = keystore;

        public string Path { get; } = path;

        public FileChangeMonitor? Monitor { get; set; }

        public volatile AuthorizationPolicy? Policy;

        public string? PolicyHash { get; set; }

        public DateTimeOffset? LoadedAt { get; set; }

        public string? LastAttempt { get; set; }

        public string? LastError { get; set; }
    }
}

/// <summary>The outcome of one attempt to load a keystore's policy file.</summary>
/// <param name="Accepted">True when the file is now in force.</param>
/// <param name="ContentHash">Lowercase hex SHA-256 of the file bytes (null when unreadable), to identify the version in logs.</param>
/// <param name="Errors">Every problem found, each naming the JSON location (empty when accepted).</param>
/// <param name="PolicyInForce">Whether the keystore has a policy in force after this attempt (the new or the last good one).</param>
internal sealed record PolicyLoadResult(
    string Keystore,
    string Path,
    bool Accepted,
    string? ContentHash,
    int RuleCount,
    IReadOnlyList<string> Errors,
    bool PolicyInForce)
{
    /// <summary>One line for a log or an exception message.</summary>
    public string Describe() => Accepted
        ? $"{Keystore}: {Path}: accepted ({RuleCount} rules, sha256 {ContentHash})"
        : $"{Keystore}: {Path}: rejected: {string.Join("; ", Errors)}";
}

/// <summary>A keystore's policy state, for diagnostics.</summary>
internal sealed record PolicyStatus(
    string Keystore,
    string Path,
    bool InForce,
    string? ContentHash,
    int RuleCount,
    DateTimeOffset? LoadedAt,
    string? LastError);
