using XksGrpc.Edge.Tests.Audit;
using XksGrpc.Edge.Tls;

namespace XksGrpc.Edge.Tests.Tls;

public sealed class ServerCertificateExpiryTests
{
    [Fact]
    public void DaysToExpire_CountsFractionalDaysToNotAfter_AndGoesNegativeAfter()
    {
        DateTimeOffset notAfter = new(2027, 1, 31, 0, 0, 0, TimeSpan.Zero);
        using var certificate = TestCertificates.CreateLeaf(null, "CN=xks.example.com", notBefore: notAfter.AddYears(-1), notAfter: notAfter);

        Assert.Equal(30.5, ServerCertificateExpiry.DaysToExpire(certificate, new ManualTimeProvider(notAfter.AddDays(-30.5))), 3);
        Assert.Equal(-2, ServerCertificateExpiry.DaysToExpire(certificate, new ManualTimeProvider(notAfter.AddDays(2))), 3);
    }
}
