namespace XksGrpc.Drills.Tests.Infrastructure;

/// <summary>The drills load this machine's two cores with real processes: they run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class DrillCollection
{
    public const string Name = "drills";

    /// <summary>
    /// The edge's per-call deadline to the broker in the drills' edge.json: the most the edge accepts
    /// (KMS's 250 ms), so that a shared two-core CI machine's scheduling stalls are less often taken
    /// for faults; what the drills check does not depend on the value.
    /// </summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromMilliseconds(250);

    /// <summary>Slack over the deadline for TLS, SigV4, JSON and a busy two-core machine.</summary>
    public static readonly TimeSpan Slack = TimeSpan.FromMilliseconds(500);
}
