namespace XksGrpc.Edge.Authentication;

/// <summary>
/// What <see cref="SigV4Verifier"/> accepts besides a valid signature (spec Appendix A): the service of the
/// credential scope (<c>kms-xks-proxy</c>), the regions KMS may call from, and the clock skew tolerated
/// ("any requests more than 5 minutes in the past (or future) SHOULD fail authentication", Task 4).
/// </summary>
internal sealed class SigV4VerifierOptions
{
    /// <summary>The service name the spec fixes for XKS requests.</summary>
    public const string XksService = "kms-xks-proxy";

    public string Service { get; set; } = XksService;

    /// <summary>Regions accepted in the credential scope; null or empty accepts any.</summary>
    public IReadOnlyList<string>? AllowedRegions { get; set; }

    /// <summary>Largest accepted difference, either way, between <c>x-amz-date</c> and now (inclusive).</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Each problem, naming the setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate(string section = "SigV4")
    {
        var errors = new List<string>();
        if (string.IsNullOrEmpty(Service))
        {
            errors.Add($"{section}:Service must not be empty.");
        }

        if (MaxClockSkew <= TimeSpan.Zero || MaxClockSkew > TimeSpan.FromHours(1))
        {
            errors.Add($"{section}:MaxClockSkew must be greater than zero and at most one hour.");
        }

        if (AllowedRegions is not null)
        {
            for (int i = 0; i < AllowedRegions.Count; i++)
            {
                if (string.IsNullOrWhiteSpace(AllowedRegions[i]))
                {
                    errors.Add($"{section}:AllowedRegions:{i} must not be empty.");
                }
            }
        }

        return errors;
    }
}
