using System.Globalization;

namespace XksGrpc.Bench.Measurement;

/// <summary>
/// Samples the resident set (VmRSS, Linux's working set) of named processes whose pid is read
/// from a pid file at every sample, so a process restarted by the lab's supervision is followed.
/// </summary>
internal sealed class ProcessMemory(IReadOnlyList<(string Name, string PidFile)> processes)
{
    public IReadOnlyList<(string Name, string PidFile)> Processes { get; } = processes;

    public bool Any => Processes.Count > 0;

    /// <summary>VmRSS in bytes per process name; -1 when the process or its pid file is not there.</summary>
    public long[] Sample()
    {
        var values = new long[Processes.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = ReadKb(Processes[i].PidFile, "VmRSS:") is long kb ? kb * 1024 : -1;
        }

        return values;
    }

    /// <summary>VmHWM (peak resident set since the process started) in bytes per process; -1 when unknown.</summary>
    public long[] SamplePeak()
    {
        var values = new long[Processes.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = ReadKb(Processes[i].PidFile, "VmHWM:") is long kb ? kb * 1024 : -1;
        }

        return values;
    }

    private static long? ReadKb(string pidFile, string field)
    {
        try
        {
            string pid = File.ReadAllText(pidFile).Trim();
            if (!int.TryParse(pid, NumberStyles.None, CultureInfo.InvariantCulture, out int id))
            {
                return null;
            }

            foreach (string line in File.ReadLines($"/proc/{id}/status"))
            {
                if (line.StartsWith(field, StringComparison.Ordinal))
                {
                    string v = line[field.Length..].Trim();
                    int space = v.IndexOf(' ', StringComparison.Ordinal);
                    return long.Parse(space > 0 ? v[..space] : v, CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return null;
    }
}

/// <summary>Memory of the sampled processes over one run: before, highest sample during, after.</summary>
internal sealed class MemoryTrace(int count)
{
    public long[] Before { get; set; } = new long[count];

    public long[] Peak { get; } = Enumerable.Repeat(-1L, count).ToArray();

    public long[] After { get; set; } = new long[count];

    public void Observe(long[] sample)
    {
        for (int i = 0; i < sample.Length; i++)
        {
            Peak[i] = Math.Max(Peak[i], sample[i]);
        }
    }
}
