using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using XksGrpc.Files;

namespace XksGrpc.Broker.Tests.Configuration;

/// <summary>
/// The configuration file reloads when it changes, and only then: files written beside it or below
/// it (the lab's logs and audit log live under the state directory) wake nothing.
/// </summary>
public sealed class ConfigurationFileReloadTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("xksgrpc-config-reload-").FullName;

    [Fact]
    public async Task WritesBesideOrBelowTheFile_DoNotReload_AndAChangeToTheFileDoes()
    {
        string path = Path.Combine(_directory, "program.json");
        await File.WriteAllTextAsync(path, """{"Setting":"one"}""");
        Directory.CreateDirectory(Path.Combine(_directory, "logs"));

        var builder = WebApplication.CreateBuilder(ConfigurationFileReload.HostOptions([]));
        builder.Configuration.AddJsonFileReloadedOnChange(builder.Services, path);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var app = builder.Build();
        await app.StartAsync();
        int reloads = 0;
        using var subscription = Microsoft.Extensions.Primitives.ChangeToken.OnChange(app.Configuration.GetReloadToken, () => Interlocked.Increment(ref reloads));
        Assert.Equal("one", app.Configuration["Setting"]);

        // Nothing watches the directory below the file (the framework's reloadOnChange watches the whole tree).
        Assert.True(InotifyWatches(Inode(_directory)) > 0, "the file's own directory should be watched");
        Assert.Equal(0, InotifyWatches(Inode(Path.Combine(_directory, "logs"))));

        // A busy log below the file and another file beside it: no reload, for longer than the poll interval.
        var until = DateTime.UtcNow + ConfigurationFileReload.PollInterval * 2;
        for (int i = 0; DateTime.UtcNow < until; i++)
        {
            await File.AppendAllTextAsync(Path.Combine(_directory, "logs", "edge.log"), $"line {i}\n");
            await File.AppendAllTextAsync(Path.Combine(_directory, "other.json"), "{}\n");
            await Task.Delay(20);
        }

        Assert.Equal(0, Volatile.Read(ref reloads));

        await File.WriteAllTextAsync(path, """{"Setting":"two"}""");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(15);
        while (app.Configuration["Setting"] != "two" && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }

        Assert.Equal("two", app.Configuration["Setting"]);
        Assert.True(Volatile.Read(ref reloads) > 0);
        await app.StopAsync();
    }

    private static string Inode(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%i", path]) { RedirectStandardOutput = true })!;
        string decimalInode = stat.StandardOutput.ReadToEnd().Trim();
        stat.WaitForExit();
        return ulong.Parse(decimalInode, System.Globalization.CultureInfo.InvariantCulture).ToString("x", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>How many inotify watches of this process are on the inode (hexadecimal, as /proc shows it).</summary>
    private static int InotifyWatches(string hexInode)
    {
        int count = 0;
        foreach (string fdinfo in Directory.EnumerateFiles("/proc/self/fdinfo"))
        {
            try
            {
                count += File.ReadLines(fdinfo).Count(line => line.StartsWith("inotify wd:", StringComparison.Ordinal)
                    && line.Contains($" ino:{hexInode} ", StringComparison.Ordinal));
            }
            catch (IOException)
            {
                // the descriptor was closed meanwhile
            }
        }

        return count;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
