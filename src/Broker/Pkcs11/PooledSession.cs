using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;
using XksGrpc.Broker.Errors;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// One logged-in session of a token's pool, lent to one request at a time. Its methods are the
/// only AES-GCM calls of the broker: CKM_AES_GCM with a 128-bit tag; PKCS#11 returns ciphertext||tag.
/// </summary>
internal sealed class PooledSession
{
    public const int IvBytes = 12;
    public const int TagBytes = 16;
    private const ulong TagBits = TagBytes * 8;

    /// <summary>IVs drawn from the token's RNG in batches: one C_GenerateRandom per this many encrypts.</summary>
    private const int IvBatch = 64;

    private readonly Pkcs11InteropFactories _factories;
    private byte[] _ivs = [];
    private int _nextIv;

    public PooledSession(TokenConnection owner, ISession session, Pkcs11InteropFactories factories)
    {
        Owner = owner;
        Session = session;
        _factories = factories;
    }

    public TokenConnection Owner { get; }

    internal ISession Session { get; }

    /// <summary>The call in progress, so a failure is mapped for what it was.</summary>
    internal HsmCall LastCall { get; private set; }

    public string TokenId => Owner.Token.Id;

    /// <summary>
    /// The key family <paramref name="externalKeyId"/>. A miss re-reads the catalog (rate limited), so
    /// keys and versions added to the HSM are served without a restart.
    /// </summary>
    public KeyFamily FindKey(string externalKeyId)
    {
        LastCall = HsmCall.Other;
        var family = Owner.Catalog.Find(externalKeyId) ?? Owner.RefreshCatalogAfterMiss().Find(externalKeyId);
        if (family is null)
        {
            throw XksException.KeyNotFound($"The key '{externalKeyId}' is not in the HSM.");
        }

        if (family.FirstDuplicate is { } duplicate)
        {
            throw XksException.Internal($"The HSM holds {duplicate.Duplicates} AES-256 keys labelled '{duplicate.Label}'; the broker refuses to pick one.");
        }

        return family;
    }

    /// <summary>A fresh 96-bit IV from the token's RNG (each byte handed out once).</summary>
    public byte[] GenerateIv()
    {
        if (_nextIv + IvBytes > _ivs.Length)
        {
            LastCall = HsmCall.Random;
            _ivs = Session.GenerateRandom(IvBytes * IvBatch);
            _nextIv = 0;
        }

        var iv = _ivs.AsSpan(_nextIv, IvBytes).ToArray();
        _ivs.AsSpan(_nextIv, IvBytes).Clear();
        _nextIv += IvBytes;
        return iv;
    }

    /// <summary>ciphertext||tag.</summary>
    public byte[] Encrypt(KeyVersion key, byte[] iv, byte[] framedAad, byte[] plaintext)
    {
        LastCall = HsmCall.Encrypt;
        using var parameters = _factories.MechanismParamsFactory.CreateCkGcmParams(iv, (ulong)iv.Length * 8, framedAad, TagBits);
        using var mechanism = _factories.MechanismFactory.Create(CKM.CKM_AES_GCM, parameters);
        return Session.Encrypt(mechanism, key.Handle, plaintext);
    }

    /// <summary>The plaintext, or null when the tag does not verify (wrong key, AAD, IV, tag or ciphertext).</summary>
    public byte[]? TryDecrypt(KeyVersion key, byte[] iv, byte[] framedAad, byte[] ciphertextAndTag)
    {
        LastCall = HsmCall.Decrypt;
        using var parameters = _factories.MechanismParamsFactory.CreateCkGcmParams(iv, (ulong)iv.Length * 8, framedAad, TagBits);
        using var mechanism = _factories.MechanismFactory.Create(CKM.CKM_AES_GCM, parameters);
        try
        {
            return Session.Decrypt(mechanism, key.Handle, ciphertextAndTag);
        }
        catch (Pkcs11Exception e) when (CkrMapper.IsAuthenticationFailure(e.RV))
        {
            return null;
        }
    }

    internal void Close()
    {
        try
        {
            Session.CloseSession();
        }
        catch (Pkcs11Exception)
        {
            // The session may already be gone with its token or module.
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
