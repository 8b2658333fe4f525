namespace XksGrpc.Deploy.Tests;

/// <summary>Finds files of the repository under test (the directory that holds XksGrpc.sln).</summary>
internal static class RepositoryRoot
{
    private static readonly Lazy<string> Root = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (System.IO.File.Exists(System.IO.Path.Combine(dir.FullName, "XksGrpc.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"XksGrpc.sln not found above {AppContext.BaseDirectory}");
    });

    public static string FullPath => Root.Value;

    public static string File(string relativePath)
    {
        var path = System.IO.Path.Combine(Root.Value, relativePath);
        Assert.True(System.IO.File.Exists(path), $"{relativePath} is missing");
        return path;
    }

    public static string ReadAllText(string relativePath) => System.IO.File.ReadAllText(File(relativePath));
}
