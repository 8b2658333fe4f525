using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using XksGrpc.Bench.Cli;
using XksGrpc.Bench.Signing;
using XksGrpc.Bench.Target;

namespace XksGrpc.Bench.Requests;

/// <summary>Thrown when the requests a scenario needs cannot be prepared (e.g. the encrypts that make decrypt's ciphertexts fail).</summary>
internal sealed class PreparationException(string message) : Exception(message);

/// <summary>Builds the pre-signed request pool of each scenario.</summary>
internal sealed class PoolBuilder(XksTarget target, string key, HttpMessageInvoker invoker, Version version)
{
    private const int PrepConcurrency = 8;
    private static readonly TimeSpan PrepTimeout = TimeSpan.FromSeconds(10);

    /// <summary>
    /// A target that has just started may answer its first calls with the spec's transient errors
    /// (503 DependencyTimeoutException while the broker is still compiling its paths, 429
    /// ThrottlingException): preparation tries such a call again, up to this many times in all.
    /// Any other answer, or a wrong result, fails the preparation at once.
    /// </summary>
    private const int PrepAttempts = 5;
    private static readonly TimeSpan PrepRetryDelay = TimeSpan.FromMilliseconds(200);

    public string PathFor(string op) => op switch
    {
        Scenarios.Metadata => $"{target.UriPath}/keys/{key}/metadata",
        Scenarios.Decrypt => $"{target.UriPath}/keys/{key}/decrypt",
        _ => $"{target.UriPath}/keys/{key}/encrypt",
    };

    public async Task<RequestPool> BuildAsync(string scenario, int size, CancellationToken ct)
    {
        List<RequestTemplate> templates;
        if (scenario == Scenarios.Mix)
        {
            int totalWeight = Scenarios.MixWeights.Sum(w => w.Weight);
            int rounds = Math.Max(1, size / totalWeight);
            var parts = new Dictionary<string, List<RequestTemplate>>();
            foreach ((string s, int weight) in Scenarios.MixWeights)
            {
                parts[s] = await TemplatesAsync(s, rounds * weight, ct).ConfigureAwait(false);
            }

            // Interleave (smooth weighted round robin) so any short window of the pool has the mix's proportions.
            var order = new List<string>(totalWeight);
            var current = Scenarios.MixWeights.ToDictionary(w => w.Scenario, _ => 0);
            for (int slot = 0; slot < totalWeight; slot++)
            {
                foreach ((string s, int weight) in Scenarios.MixWeights)
                {
                    current[s] += weight;
                }

                string pick = current.MaxBy(kv => kv.Value).Key;
                current[pick] -= totalWeight;
                order.Add(pick);
            }

            templates = new List<RequestTemplate>(rounds * totalWeight);
            var next = Scenarios.MixWeights.ToDictionary(w => w.Scenario, _ => 0);
            for (int r = 0; r < rounds; r++)
            {
                foreach (string s in order)
                {
                    templates.Add(parts[s][next[s]++]);
                }
            }
        }
        else
        {
            templates = await TemplatesAsync(scenario, size, ct).ConfigureAwait(false);
        }

        return new RequestPool(scenario, target, templates);
    }

    private async Task<List<RequestTemplate>> TemplatesAsync(string scenario, int count, CancellationToken ct)
    {
        var list = new List<RequestTemplate>(count);
        switch (scenario)
        {
            case Scenarios.Metadata:
                for (int i = 0; i < count; i++)
                {
                    list.Add(new RequestTemplate(scenario, PathFor(scenario), RequestBodies.Metadata()));
                }

                break;
            case Scenarios.Encrypt:
            case Scenarios.EncryptCdiv:
                for (int i = 0; i < count; i++)
                {
                    list.Add(new RequestTemplate(scenario, PathFor(scenario), RequestBodies.RandomEncrypt(scenario, out _, out _)));
                }

                break;
            case Scenarios.Decrypt:
                list.AddRange(target.IsBaseline ? SyntheticDecrypts(count) : await RealDecryptsAsync(count, ct).ConfigureAwait(false));
                break;
            default:
                throw new UsageException($"unknown scenario '{scenario}'");
        }

        return list;
    }

    /// <summary>The baseline does no crypto: decrypt bodies of the right shape and size are enough.</summary>
    private List<RequestTemplate> SyntheticDecrypts(int count)
    {
        var list = new List<RequestTemplate>(count);
        for (int i = 0; i < count; i++)
        {
            byte[] body = RequestBodies.Decrypt(
                RandomNumberGenerator.GetBytes(RequestBodies.CdivPlaintextBytes),
                [0x01, 0, 0, 0, 1],
                RandomNumberGenerator.GetBytes(RequestBodies.CdivAadBytes),
                RandomNumberGenerator.GetBytes(12),
                RandomNumberGenerator.GetBytes(16));
            list.Add(new RequestTemplate(Scenarios.Decrypt, PathFor(Scenarios.Decrypt), body));
        }

        return list;
    }

    /// <summary>
    /// Encrypts <paramref name="count"/> GenerateDataKey-shaped plaintexts (checking each CDIV),
    /// then decrypts each once and checks the plaintext: the decrypt pool is known-good, and
    /// the target is checked for correctness before it is measured.
    /// </summary>
    private async Task<List<RequestTemplate>> RealDecryptsAsync(int count, CancellationToken ct)
    {
        var results = new RequestTemplate[count];
        int next = -1;
        string encryptPath = PathFor(Scenarios.EncryptCdiv);
        string decryptPath = PathFor(Scenarios.Decrypt);

        async Task Worker()
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                byte[] encryptBody = RequestBodies.RandomEncrypt(Scenarios.EncryptCdiv, out byte[] plaintext, out byte[] aad);
                byte[] response = await SendCheckedAsync("encrypt (decrypt preparation)", encryptPath, encryptBody, ct).ConfigureAwait(false);

                byte[] ciphertext, metadata, iv, tag, cdiv;
                try
                {
                    using JsonDocument doc = JsonDocument.Parse(response);
                    JsonElement root = doc.RootElement;
                    ciphertext = root.GetProperty("ciphertext").GetBytesFromBase64();
                    metadata = root.TryGetProperty("ciphertextMetadata", out JsonElement md) ? md.GetBytesFromBase64() : [];
                    iv = root.GetProperty("initializationVector").GetBytesFromBase64();
                    tag = root.GetProperty("authenticationTag").GetBytesFromBase64();
                    cdiv = root.GetProperty("ciphertextDataIntegrityValue").GetBytesFromBase64();
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
                {
                    throw new PreparationException($"encrypt (decrypt preparation): unexpected response: {e.Message}");
                }

                // Appendix C: SHA-256 over aad || ciphertextMetadata || iv || ciphertext || tag.
                byte[] expected = SHA256.HashData([.. aad, .. metadata, .. iv, .. ciphertext, .. tag]);
                if (!expected.AsSpan().SequenceEqual(cdiv))
                {
                    throw new PreparationException("encrypt (decrypt preparation): ciphertextDataIntegrityValue does not match the response (spec Appendix C)");
                }

                byte[] decryptBody = RequestBodies.Decrypt(ciphertext, metadata, aad, iv, tag);
                byte[] decrypted = await SendCheckedAsync("decrypt (preparation check)", decryptPath, decryptBody, ct).ConfigureAwait(false);
                byte[] roundTrip;
                try
                {
                    using JsonDocument doc = JsonDocument.Parse(decrypted);
                    roundTrip = doc.RootElement.GetProperty("plaintext").GetBytesFromBase64();
                }
                catch (Exception e) when (e is JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
                {
                    throw new PreparationException($"decrypt (preparation check): unexpected response: {e.Message}");
                }

                if (!roundTrip.AsSpan().SequenceEqual(plaintext))
                {
                    throw new PreparationException("decrypt (preparation check): the plaintext differs from what was encrypted");
                }

                results[i] = new RequestTemplate(Scenarios.Decrypt, decryptPath, decryptBody);
            }
        }

        await Task.WhenAll(Enumerable.Range(0, Math.Min(PrepConcurrency, count)).Select(_ => Task.Run(Worker, ct))).ConfigureAwait(false);
        return [.. results];
    }

    private async Task<byte[]> SendCheckedAsync(string what, string path, byte[] body, CancellationToken ct)
    {
        for (int attempt = 1; ; attempt++)
        {
            (HttpStatusCode status, byte[] content) = await SendOnceAsync(what, path, body, ct).ConfigureAwait(false);
            if (status == HttpStatusCode.OK)
            {
                return content;
            }

            if (attempt >= PrepAttempts || status is not (HttpStatusCode.ServiceUnavailable or HttpStatusCode.TooManyRequests))
            {
                throw new PreparationException($"{what}: {path}: HTTP {ErrorBody.Describe((int)status, content)}");
            }

            await Task.Delay(PrepRetryDelay, ct).ConfigureAwait(false);
        }
    }

    private async Task<(HttpStatusCode Status, byte[] Content)> SendOnceAsync(string what, string path, byte[] body, CancellationToken ct)
    {
        string amzDate = SigV4Signer.FormatAmzDate(DateTime.UtcNow);
        var p = new PreparedRequest(what, new Uri(target.Endpoint, path), body, amzDate, target.Signer.Sign(target.Host, path, amzDate, body));
        using HttpRequestMessage request = RequestPool.ToMessage(p, target.Host, version);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(PrepTimeout);
        HttpResponseMessage response;
        try
        {
            response = await invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new PreparationException($"{what}: {target.Description}: {e.HttpRequestError}: {e.Message}");
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new PreparationException($"{what}: {target.Description}: no answer within {PrepTimeout.TotalSeconds:0} s");
        }

        using (response)
        {
            return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false));
        }
    }
}
