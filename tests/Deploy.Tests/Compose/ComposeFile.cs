using YamlDotNet.RepresentationModel;

namespace XksGrpc.Deploy.Tests.Compose;

/// <summary>docker-compose.yml as a YAML tree, with the few look-ups the tests need.</summary>
internal sealed class ComposeFile
{
    private ComposeFile(YamlMappingNode root) => Root = root;

    public YamlMappingNode Root { get; }

    public static ComposeFile Load(string relativePath = "docker-compose.yml")
    {
        var stream = new YamlStream();
        using var reader = new StringReader(RepositoryRoot.ReadAllText(relativePath));
        stream.Load(reader);
        return new ComposeFile(Assert.IsType<YamlMappingNode>(stream.Documents.Single().RootNode));
    }

    public YamlMappingNode Services => Map(Root, "services");

    public YamlMappingNode Service(string name) => Map(Services, name);

    public static YamlMappingNode Map(YamlMappingNode node, string key) =>
        Assert.IsType<YamlMappingNode>(Get(node, key) ?? throw new Xunit.Sdk.XunitException($"'{key}' missing"));

    public static YamlNode? Get(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static string? Scalar(YamlMappingNode node, string key) => (Get(node, key) as YamlScalarNode)?.Value;

    /// <summary>A list in either compose form: a sequence of scalars, or a mapping whose keys are the items.</summary>
    public static IReadOnlyList<string> Names(YamlMappingNode node, string key) => Get(node, key) switch
    {
        null => [],
        YamlSequenceNode seq => seq.Children.Select(item => item switch
        {
            YamlScalarNode s => s.Value ?? "",
            YamlMappingNode m => Scalar(m, "source") ?? Scalar(m, "target") ?? "",
            _ => "",
        }).ToList(),
        YamlMappingNode map => map.Children.Keys.Cast<YamlScalarNode>().Select(k => k.Value ?? "").ToList(),
        var other => throw new Xunit.Sdk.XunitException($"'{key}' has an unexpected shape: {other.NodeType}"),
    };
}
