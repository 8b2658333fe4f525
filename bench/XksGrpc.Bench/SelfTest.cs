using XksGrpc.Bench.Measurement;
using XksGrpc.Bench.Requests;
using XksGrpc.Bench.Signing;

namespace XksGrpc.Bench;

/// <summary>
/// <c>XksGrpc.Bench selftest</c>: the bench is not a test project, so its two pieces of
/// arithmetic check themselves: the signer against AWS's SigV4 test-suite vector post-vanilla
/// (service "service", AKIDEXAMPLE, 20150830T123600Z), the histogram against known data.
/// </summary>
internal static class SelfTest
{
    public static int Run()
    {
        int failures = 0;

        void Check(bool ok, string what)
        {
            Console.Out.WriteLine($"{(ok ? "ok  " : "FAIL")} {what}");
            if (!ok)
            {
                failures++;
            }
        }

        // AWS SigV4 test suite: post-vanilla (signed headers host;x-amz-date, empty body).
        var signer = new SigV4Signer("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "service");
        string authorization = signer.Sign("example.amazonaws.com", "/", "20150830T123600Z", []);
        Check(
            authorization == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
            "SigV4 signer matches AWS test vector post-vanilla");

        // Same key, next day: the cached signing key must be re-derived.
        string otherDay = signer.Sign("example.amazonaws.com", "/", "20150831T123600Z", []);
        Check(otherDay.Contains("/20150831/", StringComparison.Ordinal) && otherDay != authorization, "SigV4 signer re-derives its signing key for a new date");

        var h = new LatencyHistogram();
        for (int v = 1; v <= 100_000; v++)
        {
            h.RecordMicros(v);
        }

        static bool Near(long actual, long expected) => Math.Abs(actual - expected) <= expected / 100 + 1;
        Check(Near(h.PercentileMicros(50), 50_000), $"histogram p50 of 1..100000 µs ≈ 50000 (got {h.PercentileMicros(50)})");
        Check(Near(h.PercentileMicros(99), 99_000), $"histogram p99 ≈ 99000 (got {h.PercentileMicros(99)})");
        Check(Near(h.PercentileMicros(99.9), 99_900), $"histogram p99.9 ≈ 99900 (got {h.PercentileMicros(99.9)})");
        Check(h.MaxMicros == 100_000 && h.PercentileMicros(100) == 100_000, "histogram max is exact");
        Check(h.TotalCount == 100_000, "histogram counts every value");

        var small = new LatencyHistogram();
        small.RecordMicros(3);
        small.RecordMicros(127);
        small.RecordMicros(128);
        Check(small.PercentileMicros(34) == 127 && small.PercentileMicros(1) == 3, "histogram is exact below 128 µs");

        var huge = new LatencyHistogram();
        huge.RecordMicros(long.MaxValue / 2);
        Check(huge.TotalCount == 1, "histogram clamps out-of-range values instead of failing");

        Check(ErrorBody.ErrorName("""{"errorMessage":"x","errorName":"ThrottlingException"}"""u8) == "ThrottlingException", "error body: errorName found after other fields");
        Check(ErrorBody.Describe(502, "<html>bad gateway</html>"u8).StartsWith("502 (not a JSON error", StringComparison.Ordinal), "error body: a non-JSON body is reported as such");

        Console.Out.WriteLine(failures == 0 ? "selftest: all passed" : $"selftest: {failures} failed");
        return failures == 0 ? 0 : 1;
    }
}
