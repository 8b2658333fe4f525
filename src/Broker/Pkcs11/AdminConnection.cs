using Microsoft.Extensions.Logging;
using Net.Pkcs11Interop.Common;
using Net.Pkcs11Interop.HighLevelAPI;
using ISession = Net.Pkcs11Interop.HighLevelAPI.ISession;
using XksGrpc.Broker.Configuration;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>A logged-in read-write session for the admin command, with its <see cref="KeyAdmin"/>.</summary>
internal sealed class AdminConnection : IDisposable
{
    private readonly Pkcs11Module _module;
    private readonly ISession _session;

    private AdminConnection(Pkcs11Module module, ISession session, string tokenDescription)
    {
        _module = module;
        _session = session;
        TokenDescription = tokenDescription;
        Keys = new KeyAdmin(session, module.Factories);
    }

    public KeyAdmin Keys { get; }
    public string TokenDescription { get; }

    public static AdminConnection Open(string modulePath, TokenOptions token, ILogger logger)
    {
        var module = Pkcs11Module.Acquire(modulePath, logger);
        try
        {
            var (slot, info) = HsmToken.FindSlot(module.GetLibrary(), token);
            var session = slot.OpenSession(SessionType.ReadWrite);
            var pin = PinSource.Read(token);
            try
            {
                session.Login(CKU.CKU_USER, pin);
            }
            catch (Pkcs11Exception e) when (e.RV == CKR.CKR_USER_ALREADY_LOGGED_IN)
            {
            }
            finally
            {
                Array.Clear(pin);
            }

            return new AdminConnection(module, session, $"{token.Id} ({info.Label.Trim()}, serial {info.SerialNumber.Trim()})");
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        try
        {
            _session.CloseSession();
        }
        catch (Pkcs11Exception)
        {
        }

        _module.Dispose();
    }
}
