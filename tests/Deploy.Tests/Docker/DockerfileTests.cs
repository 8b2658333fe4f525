using System.Text.RegularExpressions;

namespace XksGrpc.Deploy.Tests.Docker;

/// <summary>
/// The images of the compose stack: multi-stage builds on the official .NET images, a non-root final
/// user, and the same program and arguments that scripts/lab.sh runs.
/// </summary>
public sealed class DockerfileTests
{
    public static TheoryData<string, string> Images => new()
    {
        { "src/Broker/Dockerfile", "XksGrpc.Broker.dll" },
        { "src/Edge/Dockerfile", "XksGrpc.Edge.dll" },
    };

    [Theory]
    [MemberData(nameof(Images))]
    public void Image_BuildsOnTheSdkAndRunsOnTheAspNetRuntime(string path, string _)
    {
        var dockerfile = Dockerfile.Load(path);
        Assert.True(dockerfile.Stages.Count >= 2, "multi-stage build expected");
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", dockerfile.Stages[0].Image);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", dockerfile.Final.Image);
        Assert.Contains(dockerfile.Stages[0].Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        Assert.Contains(dockerfile.Final.Instructions, i => i.Keyword == "COPY" && i.Arguments.StartsWith($"--from={dockerfile.Stages[0].Name} ", StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void FinalStage_RunsAsANonRootUser(string path, string _)
    {
        var user = Dockerfile.Load(path).Final.Last("USER");
        Assert.NotNull(user);
        var name = user.Arguments.Split(':')[0];
        Assert.False(name is "0" or "root" or "", $"USER {user.Arguments}");
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Entrypoint_IsTheLabsProgram_AndTheCommandItsServeWithConfig(string path, string dll)
    {
        var final = Dockerfile.Load(path).Final;
        var entrypoint = final.Last("ENTRYPOINT");
        var cmd = final.Last("CMD");
        Assert.NotNull(entrypoint);
        Assert.NotNull(cmd);
        Assert.True(entrypoint.Arguments.StartsWith('['), "ENTRYPOINT in exec form, so signals reach dotnet");
        Assert.Equal(["dotnet", $"/app/{dll}"], entrypoint.ExecForm);
        Assert.Equal("serve", cmd.ExecForm[0]);
        Assert.Equal("--config", cmd.ExecForm[1]);

        // scripts/lab.sh starts the same DLL with the same verb and option.
        var lab = RepositoryRoot.ReadAllText("scripts/lab.sh");
        Assert.Contains(dll, lab, StringComparison.Ordinal);
        var variable = dll.Contains("Broker", StringComparison.Ordinal) ? "broker" : "edge";
        Assert.Matches(LabStart(variable), lab);
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void FinalStage_PromotesHotMethodsToOptimisedCodeAtOnce_AsTheLabDoes(string path, string _)
    {
        Assert.Contains(Dockerfile.Load(path).Final.Instructions,
            i => i.Keyword == "ENV" && Regex.IsMatch(i.Arguments, @"(^|\s)DOTNET_TC_CallCountingDelayMs=0(\s|$)"));
    }

    [Fact]
    public void BrokerImage_InstallsSoftHsm_AndPointsSoftHsmAtItsTokenVolume()
    {
        var final = Dockerfile.Load("src/Broker/Dockerfile").Final;
        Assert.Contains(final.Instructions, i => i.Keyword == "RUN" && i.Arguments.Contains("softhsm2", StringComparison.Ordinal));
        Assert.Contains(final.Instructions, i => i.Keyword == "ENV" && i.Arguments.Contains("SOFTHSM2_CONF=", StringComparison.Ordinal));
    }

    [Fact]
    public void DockerIgnore_KeepsBuildOutputAndSecretsOutOfTheContext()
    {
        var ignore = RepositoryRoot.ReadAllText(".dockerignore").Split('\n').Select(l => l.Trim()).ToHashSet();
        Assert.Contains("**/bin/", ignore);
        Assert.Contains("**/obj/", ignore);
        Assert.Contains("lab/", ignore);
        Assert.Contains("deploy/compose/generated/", ignore);
    }

    private static Regex LabStart(string name) => new(
        $"dotnet \"\\${name}_dll\" serve --config \"\\${name}_json\"", RegexOptions.CultureInvariant);
}
