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

    [StructLayout(LayoutKind.Sequential)]
    private struct Timespec
    {
        public long Seconds;
        public long Nanoseconds;
    }

    [LibraryImport("libc", EntryPoint = "nanosleep")]
    private static partial int NanoSleep(in Timespec request, IntPtr remaining);
}
