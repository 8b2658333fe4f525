namespace XksGrpc.Edge.Authentication;

/// <summary>How the path enters the canonical request.</summary>
internal enum CanonicalUriForm
{
    /// <summary>AWS's rule for every service but S3 (and what AWS KMS's signer does): normalized, each segment URI-encoded.</summary>
    Encoded,

    /// <summary>
    /// The path exactly as sent, as curl's <c>--aws-sigv4</c> (the official XKS test client's signer) builds it.
    /// For an XKS path of unreserved characters both forms are the same; they differ only for a key id outside
    /// the spec's characters, which then gets its KeyNotFoundException instead of a 401.
    /// </summary>
    AsSent,
}
