namespace XksGrpc.Edge.Authorization;

/// <summary>
/// A precompiled, case-sensitive glob over ordinal characters: <c>*</c> matches any run of
/// characters (including none), <c>?</c> matches exactly one. There is no escape: policy values
/// (ARNs, key ids, service names) never contain <c>*</c> or <c>?</c> literally.
/// </summary>
/// <remarks>
/// Compiled once when a policy loads so a request costs no allocation and no Regex: a literal is
/// one ordinal comparison, <c>prefix*</c> one StartsWith, anything else a linear greedy matcher
/// with single-star backtracking (O(n·m) worst case on tiny strings).
/// </remarks>
internal sealed class GlobPattern
{
    private enum Kind { Literal, Prefix, Any, General }

    private readonly Kind _kind;
    private readonly string _literal;

    private GlobPattern(string pattern, Kind kind, string literal)
    {
        Pattern = pattern;
        _kind = kind;
        _literal = literal;
    }

    /// <summary>The pattern as written in the policy.</summary>
    public string Pattern { get; }

    public static GlobPattern Compile(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        int star = pattern.IndexOf('*');
        bool hasQuestion = pattern.Contains('?');
        if (star < 0 && !hasQuestion)
        {
            return new GlobPattern(pattern, Kind.Literal, pattern);
        }

        if (!hasQuestion && star == pattern.Length - 1)
        {
            return star == 0
                ? new GlobPattern(pattern, Kind.Any, string.Empty)
                : new GlobPattern(pattern, Kind.Prefix, pattern[..^1]);
        }

        if (!hasQuestion && pattern.AsSpan().IndexOfAnyExcept('*') < 0)
        {
            return new GlobPattern(pattern, Kind.Any, string.Empty);
        }

        return new GlobPattern(pattern, Kind.General, pattern);
    }

    public bool IsMatch(string value) => _kind switch
    {
        Kind.Literal => string.Equals(value, _literal, StringComparison.Ordinal),
        Kind.Prefix => value.StartsWith(_literal, StringComparison.Ordinal),
        Kind.Any => true,
        _ => MatchGeneral(_literal, value),
    };

    public override string ToString() => Pattern;

    // Classic iterative wildcard match: remember the last '*' and the input position it was
    // tried at; on a mismatch, let that star swallow one more character.
    private static bool MatchGeneral(ReadOnlySpan<char> pattern, ReadOnlySpan<char> value)
    {
        int p = 0, v = 0, starP = -1, starV = 0;
        while (v < value.Length)
        {
            if (p < pattern.Length && (pattern[p] == '?' || pattern[p] == value[v]))
            {
                p++;
                v++;
            }
            else if (p < pattern.Length && pattern[p] == '*')
            {
                starP = p++;
                starV = v;
            }
            else if (starP >= 0)
            {
                p = starP + 1;
                v = ++starV;
            }
            else
            {
                return false;
            }
        }

        while (p < pattern.Length && pattern[p] == '*')
        {
            p++;
        }

        return p == pattern.Length;
    }
}
