using Net.Pkcs11Interop.Common;
using XksGrpc.Broker.Pkcs11;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Tests.Pkcs11;

public sealed class CkrMapperTests
{
    [Theory]
    [InlineData(CKR.CKR_DEVICE_REMOVED)]
    [InlineData(CKR.CKR_DEVICE_ERROR)]
    [InlineData(CKR.CKR_TOKEN_NOT_PRESENT)]
    [InlineData(CKR.CKR_USER_NOT_LOGGED_IN)]
    [InlineData(CKR.CKR_SESSION_HANDLE_INVALID)]
    [InlineData(CKR.CKR_SESSION_CLOSED)]
    public void Map_OfHsmFaults_DropsTheTokenAndAnswersInternal(CKR rv)
    {
        var mapping = CkrMapper.Map(rv, HsmCall.Encrypt);

        Assert.Equal(HsmFault.Token, mapping.Fault);
        Assert.Equal(XksErrorName.InternalException, mapping.Error);
        Assert.Contains(rv.ToString(), mapping.Message);
    }

    [Fact]
    public void Map_OfNotInitialized_ReloadsTheModule()
    {
        Assert.Equal(HsmFault.Module, CkrMapper.Map(CKR.CKR_CRYPTOKI_NOT_INITIALIZED, HsmCall.Decrypt).Fault);
    }

    [Theory]
    [InlineData(CKR.CKR_ENCRYPTED_DATA_INVALID)]
    [InlineData(CKR.CKR_ENCRYPTED_DATA_LEN_RANGE)]
    [InlineData(CKR.CKR_GENERAL_ERROR)] // SoftHSM's answer to a wrong GCM tag
    public void Map_OfDecryptFailures_IsInvalidCiphertextAndNotAFault(CKR rv)
    {
        var mapping = CkrMapper.Map(rv, HsmCall.Decrypt);

        Assert.Equal(HsmFault.Request, mapping.Fault);
        Assert.Equal(XksErrorName.InvalidCiphertextException, mapping.Error);
        Assert.True(CkrMapper.IsAuthenticationFailure(rv));
    }

    [Fact]
    public void Map_OfGeneralErrorOutsideDecrypt_IsInternal()
    {
        Assert.Equal(XksErrorName.InternalException, CkrMapper.Map(CKR.CKR_GENERAL_ERROR, HsmCall.Encrypt).Error);
    }

    [Theory]
    [InlineData(CKR.CKR_OBJECT_HANDLE_INVALID)]
    [InlineData(CKR.CKR_KEY_HANDLE_INVALID)]
    public void Map_OfStaleHandles_RereadsTheCatalog(CKR rv)
    {
        var mapping = CkrMapper.Map(rv, HsmCall.Encrypt);

        Assert.Equal(HsmFault.StaleHandle, mapping.Fault);
        Assert.Equal(XksErrorName.KeyNotFoundException, mapping.Error);
    }

    [Fact]
    public void Map_OfKeyFunctionNotPermitted_IsInvalidKeyUsage()
    {
        Assert.Equal(XksErrorName.InvalidKeyUsageException, CkrMapper.Map(CKR.CKR_KEY_FUNCTION_NOT_PERMITTED, HsmCall.Decrypt).Error);
    }
}
