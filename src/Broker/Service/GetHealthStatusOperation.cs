using XksGrpc.Broker.Health;
using XksGrpc.Broker.V1;

namespace XksGrpc.Broker.Service;

/// <summary>
/// GetHealthStatus (spec, "GetHealthStatus"): the cached result of the background deep check, one
/// entry per configured token; an entry older than 60 s is reported UNAVAILABLE.
/// </summary>
internal sealed class GetHealthStatusOperation(HealthMonitor monitor)
{
    public GetHealthStatusResponse Execute()
    {
        var snapshot = monitor.Current;
        var response = new GetHealthStatusResponse { EkmVendor = snapshot.Vendor };
        var now = Environment.TickCount64;
        foreach (var token in snapshot.Tokens)
        {
            var health = now - token.CheckedAtMs > HealthMonitor.MaxAgeMs ? EkmHealth.Unavailable : token.Health;
            response.EkmFleetDetails.Add(new EkmDetails { Id = token.Id, Model = token.Model, Health = health });
        }

        return response;
    }
}
