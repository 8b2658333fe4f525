using XksGrpc.Edge.Authentication;

namespace XksGrpc.Edge.Pipeline;

/// <summary>The pipeline's authentication stage over the SigV4 verifier (spec Appendix A).</summary>
internal sealed class SigV4RequestAuthenticator(SigV4Verifier verifier) : IRequestAuthenticator
{
    public SigV4Result Authenticate(in SigV4Request request) => verifier.Verify(request);
}
