using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace XksGrpc.Integration.Tests.Infrastructure;

/// <summary>
/// A program of the solution run as a process of its own, as the lab and systemd run it:
/// <c>dotnet XksGrpc.&lt;Program&gt;.dll serve --config &lt;file&gt;</c>, with its standard output
/// (JSON log lines by default) kept in memory.
/// </summary>
internal sealed class ProgramProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();

    private ProgramProcess(string program, Process process)
    {
        Program = program;
        _process = process;
    }

    public string Program { get; }

    public string Output => string.Join('\n', _lines);

    public static ProgramProcess Start(string program, string configPath, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(configPath)!,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, program + ".dll"));
        start.ArgumentList.Add("serve");
        start.ArgumentList.Add("--config");
        start.ArgumentList.Add(configPath);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start };
        var result = new ProgramProcess(program, process);
        process.OutputDataReceived += (_, e) => result.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => result.OnLine(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return result;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void OnLine(string? line)
    {
        if (line is not null)
        {
            _lines.Enqueue(line);
        }
    }

    /// <summary>Polls <paramref name="ready"/> until it holds; fails with the program's output if it exits or time runs out.</summary>
    public async Task WaitUntilAsync(Func<Task<bool>> ready, TimeSpan timeout)
    {
        var until = DateTime.UtcNow + timeout;
        while (true)
        {
            try
            {
                if (await ready())
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            if (_process.HasExited)
            {
                throw new Xunit.Sdk.XunitException($"{Program} exited with {_process.ExitCode} during start-up:\n{Output}");
            }

            if (DateTime.UtcNow > until)
            {
                throw new Xunit.Sdk.XunitException($"{Program} was not ready within {timeout}:\n{Output}");
            }

            await Task.Delay(100);
        }
    }

    /// <summary>
    /// The first JSON log line matching <paramref name="match"/>, waiting for it (the console logger
    /// writes from a queue of its own).
    /// </summary>
    public async Task<JsonElement> LogLineAsync(Func<JsonElement, bool> match, TimeSpan? timeout = null)
    {
        var until = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            foreach (var line in _lines)
            {
                if (!line.StartsWith('{'))
                {
                    continue;
                }

                var json = JsonDocument.Parse(line).RootElement;
                if (match(json))
                {
                    return json;
                }
            }

            if (DateTime.UtcNow > until)
            {
                throw new Xunit.Sdk.XunitException($"No matching log line of {Program}:\n{Output}");
            }

            await Task.Delay(50);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
