using System.Diagnostics;
using System.Runtime.InteropServices;

namespace XksGrpc.Bench.Load;

/// <summary>
/// Sub-millisecond sleeps for the open-loop scheduler. Thread.Sleep has 1 ms granularity,
/// which at 1800 requests/s (one every 0.56 ms) would add up to a millisecond of the
/// generator's own lateness to every latency; Linux's nanosleep wakes within ~50-100 µs
/// (the timer slack) without spinning a core the system under test needs.
/// </summary>
internal static partial class PreciseSleep
{
    public static void For(long stopwatchTicks)
    {
        if (stopwatchTicks <= 0)
        {
            return;
        }

        long nanos = (long)(stopwatchTicks * (1_000_000_000.0 / Stopwatch.Frequency));
        if (OperatingSystem.IsLinux())
        {
            var ts = new Timespec { Seconds = nanos / 1_000_000_000, Nanoseconds = nanos % 1_000_000_000 };
            _ = NanoSleep(in ts, IntPtr.Zero);
        }
        else
        {
            Thread.Sleep(TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, nanos / 100)));
        }
    }

    /// <summary>
    /// Raises the calling thread's scheduling priority (Linux nice values are per thread), so
    /// the open-loop scheduler, which only sleeps and enqueues, wakes on time on a busy machine.
    /// Needs CAP_SYS_NICE; without it the thread keeps its priority and the report shows the lag.
    /// </summary>
    public static bool TryRaiseThreadPriority()
    {
        return OperatingSystem.IsLinux() && SetPriority(0 /* PRIO_PROCESS */, 0 /* this thread */, -10) == 0;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "setpriority")]
    private static partial int SetPriority(int which, int who, int priority);

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(in Timespec request, IntPtr remaining);
}
