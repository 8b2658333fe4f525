using System.Collections.Frozen;
using System.Diagnostics.CodeAnalysis;

namespace XksGrpc.Edge.Authentication;

/// <summary>
/// One configured SigV4 credential: the keystore it belongs to, its access key id, and where its secret is
/// (a file, already an absolute path, or an environment variable). Holds no secret itself.
/// </summary>
internal sealed record CredentialSpec(string Keystore, string AccessKeyId, string? SecretFile, string? SecretEnv);

/// <summary>The outcome of <see cref="CredentialStore.Apply"/>: every error (none when applied) and what changed.</summary>
internal sealed record CredentialApplyResult(IReadOnlyList<string> Errors, IReadOnlyList<string> Added, IReadOnlyList<string> Removed)
{
    public bool Succeeded => Errors.Count == 0;
}

/// <summary>Thrown by <see cref="CredentialStore.ApplyOrThrow"/>: lists every problem, naming credentials by keystore and access key id, never a secret.</summary>
internal sealed class CredentialConfigurationException(IReadOnlyList<string> errors)
    : Exception("Invalid SigV4 credentials: " + string.Join(" ", errors))
{
    public IReadOnlyList<string> Errors { get; } = errors;
}

/// <summary>
/// The SigV4 credentials of every keystore (spec "SigV4 credentials rotation": at least two per keystore at
/// once, changed without a restart). Reads are lock-free on an immutable snapshot; <see cref="Apply"/>
/// validates a whole new set and swaps it in atomically, or keeps the previous set and reports every
/// problem. A removed credential stops verifying new requests at once, while a verification that already
/// holds its <see cref="SigV4Credential"/> completes. Unchanged credentials keep their instance, so their
/// cached signing keys stay valid; removed or changed ones are dropped from the <see cref="SigningKeyCache"/>.
/// </summary>
internal sealed class CredentialStore : ISigV4CredentialSource
{
    private static readonly Snapshot EmptySnapshot = new(new Dictionary<string, Entry>().ToFrozenDictionary(StringComparer.Ordinal));

    private readonly TimeProvider _timeProvider;
    private readonly SigningKeyCache? _signingKeys;
    private readonly Lock _applyLock = new();
    private volatile Snapshot _current = EmptySnapshot;

    public CredentialStore(TimeProvider timeProvider, SigningKeyCache? signingKeys = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        _timeProvider = timeProvider;
        _signingKeys = signingKeys;
    }

    public int Count => _current.Entries.Count;

    public bool TryGet(string accessKeyId, [NotNullWhen(true)] out SigV4Credential? credential)
        => TryGet(accessKeyId.AsSpan(), out credential);

    public bool TryGet(ReadOnlySpan<char> accessKeyId, [NotNullWhen(true)] out SigV4Credential? credential)
    {
        if (_current.Lookup.TryGetValue(accessKeyId, out Entry? entry))
        {
            credential = entry.Credential;
            return true;
        }

        credential = null;
        return false;
    }

    /// <summary>Each credential's age, for a metric like KMS's XksProxyCredentialAge: now minus the secret file's last write time, or minus when the credential was first loaded.</summary>
    public IReadOnlyList<(string Keystore, string AccessKeyId, TimeSpan Age)> Ages()
    {
        DateTimeOffset now = _timeProvider.GetUtcNow();
        var ages = new List<(string Keystore, string AccessKeyId, TimeSpan Age)>(_current.Entries.Count);
        foreach (Entry entry in _current.Entries.Values)
        {
            TimeSpan age = now - entry.FirstSeen;
            ages.Add((entry.Credential.Keystore, entry.Credential.AccessKeyId, age < TimeSpan.Zero ? TimeSpan.Zero : age));
        }

        ages.Sort(static (a, b) =>
        {
            int byKeystore = string.CompareOrdinal(a.Keystore, b.Keystore);
            return byKeystore != 0 ? byKeystore : string.CompareOrdinal(a.AccessKeyId, b.AccessKeyId);
        });
        return ages;
    }

    /// <summary>Like <see cref="Apply"/>, throwing <see cref="CredentialConfigurationException"/> on any error (for start-up).</summary>
    public CredentialApplyResult ApplyOrThrow(IReadOnlyList<CredentialSpec> specs)
    {
        CredentialApplyResult result = Apply(specs);
        return result.Succeeded ? result : throw new CredentialConfigurationException(result.Errors);
    }

    /// <summary>
    /// Loads and validates every credential, then replaces the whole set at once; on any error nothing
    /// changes and every error is returned.
    /// </summary>
    public CredentialApplyResult Apply(IReadOnlyList<CredentialSpec> specs)
    {
        ArgumentNullException.ThrowIfNull(specs);
        lock (_applyLock)
        {
            Snapshot previous = _current;
            DateTimeOffset now = _timeProvider.GetUtcNow();
            var errors = new List<string>();
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            for (int i = 0; i < specs.Count; i++)
            {
                Entry? entry = Load(specs[i], i, previous, now, errors);
                if (entry is null)
                {
                    continue;
                }

                if (entries.TryGetValue(entry.Credential.AccessKeyId, out Entry? other))
                {
                    errors.Add(
                        $"Access key id '{entry.Credential.AccessKeyId}' is configured more than once (keystores '{other.Credential.Keystore}' "
                        + $"and '{entry.Credential.Keystore}'): an access key id must select exactly one secret.");
                    continue;
                }

                entries.Add(entry.Credential.AccessKeyId, entry);
            }

            if (errors.Count > 0)
            {
                return new CredentialApplyResult(errors, [], []);
            }

            var added = new List<string>();
            var removed = new List<string>();
            foreach (KeyValuePair<string, Entry> pair in entries)
            {
                if (!previous.Entries.TryGetValue(pair.Key, out Entry? old) || !ReferenceEquals(old.Credential, pair.Value.Credential))
                {
                    added.Add(pair.Key);
                }
            }

            foreach (KeyValuePair<string, Entry> pair in previous.Entries)
            {
                if (!entries.TryGetValue(pair.Key, out Entry? current) || !ReferenceEquals(current.Credential, pair.Value.Credential))
                {
                    removed.Add(pair.Key);
                }
            }

            _current = new Snapshot(entries.ToFrozenDictionary(StringComparer.Ordinal));
            foreach (string accessKeyId in removed)
            {
                _signingKeys?.Invalidate(accessKeyId);
            }

            return new CredentialApplyResult([], added, removed);
        }
    }

    private static Entry? Load(CredentialSpec spec, int index, Snapshot previous, DateTimeOffset now, List<string> errors)
    {
        int errorCount = errors.Count;
        string keystore = spec.Keystore ?? string.Empty;
        bool validId = CredentialFormat.IsValidAccessKeyId(spec.AccessKeyId);

        // An invalid id is not echoed: it may be a secret pasted into the wrong field.
        string name = validId
            ? $"Keystore '{keystore}' credential '{spec.AccessKeyId}'"
            : $"Keystore '{keystore}' credential #{index + 1}";
        if (string.IsNullOrWhiteSpace(keystore))
        {
            errors.Add($"{name}: the keystore name is empty.");
        }

        if (!validId)
        {
            errors.Add($"{name}: AccessKeyId must be {CredentialFormat.AccessKeyIdRule} (got {spec.AccessKeyId?.Length ?? 0} characters).");
        }

        bool hasFile = !string.IsNullOrEmpty(spec.SecretFile);
        bool hasEnv = !string.IsNullOrEmpty(spec.SecretEnv);
        if (hasFile == hasEnv)
        {
            errors.Add($"{name}: set exactly one of SecretFile and SecretEnv.");
            return null;
        }

        string? secret = hasFile ? ReadSecretFile(spec.SecretFile!, name, errors) : ReadSecretEnv(spec.SecretEnv!, name, errors);
        if (secret is not null && !CredentialFormat.IsValidSecret(secret))
        {
            string source = hasFile ? $"file '{spec.SecretFile}'" : $"environment variable '{spec.SecretEnv}'";
            errors.Add($"{name}: the secret in {source} must be {CredentialFormat.SecretRule} (got {secret.Length} characters).");
        }

        if (errors.Count > errorCount || secret is null)
        {
            return null;
        }

        string accessKeyId = spec.AccessKeyId!;
        if (previous.Entries.TryGetValue(accessKeyId, out Entry? old)
            && old.Credential.Keystore == keystore
            && old.Credential.SecretAccessKey == secret)
        {
            // Unchanged: keep the instance (and so its cached signing keys); a rewritten file restarts the age.
            DateTimeOffset firstSeen = hasFile ? FileTime(spec.SecretFile!, old.FirstSeen) : old.FirstSeen;
            return firstSeen == old.FirstSeen ? old : new Entry(old.Credential, firstSeen);
        }

        return new Entry(new SigV4Credential(accessKeyId, keystore, secret), hasFile ? FileTime(spec.SecretFile!, now) : now);
    }

    private static string? ReadSecretFile(string path, string name, List<string> errors)
    {
        try
        {
            if (!File.Exists(path))
            {
                errors.Add($"{name}: secret file '{path}' does not exist.");
                return null;
            }

            if (!OperatingSystem.IsWindows())
            {
                UnixFileMode mode = File.GetUnixFileMode(path);
                const UnixFileMode groupOrOthers = UnixFileMode.GroupRead | UnixFileMode.GroupWrite | UnixFileMode.OtherRead | UnixFileMode.OtherWrite;
                if ((mode & groupOrOthers) != 0)
                {
                    errors.Add($"{name}: secret file '{path}' is readable or writable by group or others (mode {Convert.ToString((int)mode, 8).PadLeft(4, '0')}); restrict it with 'chmod 600'.");
                    return null;
                }
            }

            return File.ReadAllText(path).TrimEnd('\r', '\n');
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            errors.Add($"{name}: secret file '{path}' cannot be read ({e.GetType().Name}).");
            return null;
        }
    }

    private static string? ReadSecretEnv(string variable, string name, List<string> errors)
    {
        string? value = Environment.GetEnvironmentVariable(variable);
        if (string.IsNullOrEmpty(value))
        {
            errors.Add($"{name}: environment variable '{variable}' is not set.");
            return null;
        }

        return value.TrimEnd('\r', '\n');
    }

    private static DateTimeOffset FileTime(string path, DateTimeOffset fallback)
    {
        try
        {
            return new DateTimeOffset(File.GetLastWriteTimeUtc(path), TimeSpan.Zero);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return fallback;
        }
    }

    private sealed class Entry(SigV4Credential credential, DateTimeOffset firstSeen)
    {
        public SigV4Credential Credential { get; } = credential;

        public DateTimeOffset FirstSeen { get; } = firstSeen;
    }

    private sealed class Snapshot
    {
        public Snapshot(FrozenDictionary<string, Entry> entries)
        {
            Entries = entries;
            Lookup = entries.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        public FrozenDictionary<string, Entry> Entries { get; }

        public FrozenDictionary<string, Entry>.AlternateLookup<ReadOnlySpan<char>> Lookup { get; }
    }
}
