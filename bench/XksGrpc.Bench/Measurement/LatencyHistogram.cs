using System.Diagnostics;

namespace XksGrpc.Bench.Measurement;

/// <summary>
/// A log-linear latency histogram in microseconds (HdrHistogram's layout, 2 significant
/// digits: 128 linear sub-buckets per power of two, so any recorded value is within 1/128
/// ≈ 0.8% of the reported one). Recording is one Interlocked.Increment on a fixed array, so
/// any thread may record without locks or allocation; reads are for reports and progress.
/// Range: 1 µs .. ~2^41 µs; larger values are clamped into the last bucket.
/// </summary>
internal sealed class LatencyHistogram
{
    private const int SubBucketBits = 7;
    private const int SubBucketCount = 1 << SubBucketBits;          // 128
    private const int HalfSubBucketCount = SubBucketCount / 2;      // 64
    private const int BucketCount = 35;
    private const int Length = (BucketCount + 1) * HalfSubBucketCount;

    private static readonly double TicksPerMicrosecond = Stopwatch.Frequency / 1_000_000.0;

    private readonly long[] _counts = new long[Length];
    private long _total;
    private long _maxMicros;

    public long TotalCount => Volatile.Read(ref _total);

    public long MaxMicros => Volatile.Read(ref _maxMicros);

    public static long TicksToMicros(long ticks) => (long)(ticks / TicksPerMicrosecond);

    public void RecordTicks(long elapsedTicks) => RecordMicros(TicksToMicros(elapsedTicks));

    public void RecordMicros(long micros)
    {
        if (micros < 0)
        {
            micros = 0;
        }

        Interlocked.Increment(ref _counts[IndexOf(micros)]);
        Interlocked.Increment(ref _total);
        long max = Volatile.Read(ref _maxMicros);
        while (micros > max)
        {
            long seen = Interlocked.CompareExchange(ref _maxMicros, micros, max);
            if (seen == max)
            {
                break;
            }

            max = seen;
        }
    }

    public void Reset()
    {
        Array.Clear(_counts);
        Volatile.Write(ref _total, 0);
        Volatile.Write(ref _maxMicros, 0);
    }

    /// <summary>The value at <paramref name="percentile"/> (0..100), as the highest value equivalent to its bucket (like HdrHistogram).</summary>
    public long PercentileMicros(double percentile)
    {
        long total = 0;
        for (int i = 0; i < Length; i++)
        {
            total += Volatile.Read(ref _counts[i]);
        }

        if (total == 0)
        {
            return 0;
        }

        long target = Math.Max(1, (long)Math.Ceiling(percentile / 100.0 * total));
        long running = 0;
        for (int i = 0; i < Length; i++)
        {
            running += Volatile.Read(ref _counts[i]);
            if (running >= target)
            {
                long max = MaxMicros;
                return max > 0 ? Math.Min(HighestEquivalent(i), max) : HighestEquivalent(i);
            }
        }

        return MaxMicros;
    }

    private static int IndexOf(long value)
    {
        // Bucket 0 holds 0..127 at unit resolution; bucket b>0 holds [64<<b, 128<<b) at 2^b resolution.
        int pow2Ceiling = 64 - System.Numerics.BitOperations.LeadingZeroCount((ulong)value | (SubBucketCount - 1));
        int bucket = pow2Ceiling - SubBucketBits;
        if (bucket >= BucketCount)
        {
            return Length - 1;
        }

        int subBucket = (int)(value >> bucket);
        return bucket == 0 ? subBucket : ((bucket + 1) * HalfSubBucketCount) + (subBucket - HalfSubBucketCount);
    }

    private static long HighestEquivalent(int index)
    {
        if (index < SubBucketCount)
        {
            return index;
        }

        int bucket = (index / HalfSubBucketCount) - 1;
        int subBucket = (index % HalfSubBucketCount) + HalfSubBucketCount;
        long lowest = (long)subBucket << bucket;
        return lowest + (1L << bucket) - 1;
    }
}
