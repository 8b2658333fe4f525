using XksGrpc.Edge.Audit;

namespace XksGrpc.Edge.Tests.Audit;

/// <summary>Audit events and logs shared by the audit tests.</summary>
internal static class AuditTestData
{
    public static AuditEvent Event(int i = 1, string api = "Encrypt", string outcome = AuditEvent.Ok) => new(
        api,
        "ks1",
        "foo",
        $"4112f4d6-db54-4af4-ae30-{i:D12}",
        "GenerateDataKey",
        "arn:aws:iam::123456789012:user/Alice",
        "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        i % 2 == 0 ? "ebs" : null,
        null,
        null,
        "CN=cks.kms.us-east-1.amazonaws.com",
        outcome,
        "r1",
        1.5 + i);

    /// <summary>Writes <paramref name="count"/> records to a new log at <paramref name="path"/> and returns its lines.</summary>
    public static async Task<string[]> WriteLog(string path, int count)
    {
        await using (AuditLog log = AuditLog.Open(path, new AuditLogOptions { Durability = AuditDurability.OsBuffer }))
        {
            for (int i = 1; i <= count; i++)
            {
                Assert.True(await log.AppendAsync(Event(i)));
            }
        }

        return File.ReadAllLines(path);
    }

    public static void WriteLines(string path, IEnumerable<string> lines) =>
        File.WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));
}

/// <summary>A clock that says what the test tells it.</summary>
internal sealed class ManualTimeProvider(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;
}
