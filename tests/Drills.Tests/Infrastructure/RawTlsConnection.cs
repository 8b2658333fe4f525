using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using XksGrpc.Integration.Tests.Infrastructure;

namespace XksGrpc.Drills.Tests.Infrastructure;

/// <summary>
/// One HTTP/1.1-over-TLS connection to the edge driven byte by byte, for clients no HTTP library
/// would be: headers a byte a second, a body below the minimum data rate, a connection left idle, a
/// body far over the limit. It records when the edge closed the connection and what it answered.
/// </summary>
internal sealed class RawTlsConnection : IAsyncDisposable
{
    private readonly TcpClient _tcp;
    private readonly SslStream _tls;
    private readonly MemoryStream _received = new();
    private readonly Lock _gate = new();
    private Task? _reader;

    private RawTlsConnection(TcpClient tcp, SslStream tls)
    {
        _tcp = tcp;
        _tls = tls;
    }

    /// <summary>Time since the connection was opened when the edge closed it (null while it is open).</summary>
    public TimeSpan? ClosedAfter { get; private set; }

    public Stopwatch Clock { get; } = Stopwatch.StartNew();

    /// <summary>A TCP connection and a TLS handshake (ALPN http/1.1) with the edge, the certificate checked against the test CA.</summary>
    public static async Task<RawTlsConnection> OpenAsync(DrillLab lab, int? sendBufferBytes = null)
    {
        var tcp = new TcpClient { NoDelay = true };
        if (sendBufferBytes is { } size)
        {
            // Bounds what is in flight when the edge answers early (loopback buffers grow to megabytes).
            tcp.SendBufferSize = size;
        }

        try
        {
            await tcp.ConnectAsync(IPAddress.Loopback, lab.Port);
            var tls = new SslStream(tcp.GetStream(), leaveInnerStreamOpen: false);
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "localhost",
                ApplicationProtocols = [SslApplicationProtocol.Http11],
                RemoteCertificateValidationCallback = (_, certificate, _, _) => XksClient.IsIssuedBy(certificate, lab.Pki.Ca),
            });
            var connection = new RawTlsConnection(tcp, tls);
            connection._reader = connection.ReadUntilClosedAsync();
            return connection;
        }
        catch
        {
            tcp.Dispose();
            throw;
        }
    }

    /// <summary>Writes and flushes; false once the edge has closed the connection.</summary>
    public async Task<bool> WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        if (ClosedAfter is not null)
        {
            return false;
        }

        try
        {
            await _tls.WriteAsync(bytes);
            await _tls.FlushAsync();
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }

    public Task<bool> WriteAsync(string ascii) => WriteAsync(Encoding.ASCII.GetBytes(ascii));

    /// <summary>Waits until the edge closes the connection; false when it is still open after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan timeout)
    {
        try
        {
            await _reader!.WaitAsync(timeout);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Waits until a whole HTTP/1.1 response (Content-Length framed) has arrived; null if none within the timeout.</summary>
    public async Task<HttpAnswer?> WaitForAnswerAsync(TimeSpan timeout)
    {
        var until = Clock.Elapsed + timeout;
        while (true)
        {
            if (HttpAnswer.TryParse(Received(), out var answer))
            {
                return answer;
            }

            if (ClosedAfter is not null || Clock.Elapsed >= until)
            {
                return null;
            }

            await Task.Delay(20);
        }
    }

    /// <summary>Everything the edge sent so far.</summary>
    public byte[] Received()
    {
        lock (_gate)
        {
            return _received.ToArray();
        }
    }

    private async Task ReadUntilClosedAsync()
    {
        var buffer = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await _tls.ReadAsync(buffer)) > 0)
            {
                lock (_gate)
                {
                    _received.Write(buffer, 0, read);
                }
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // A reset is a close too.
        }

        ClosedAfter = Clock.Elapsed;
    }

    public async ValueTask DisposeAsync()
    {
        _tcp.Dispose();
        if (_reader is not null)
        {
            await _reader;
        }

        await _tls.DisposeAsync();
    }
}

/// <summary>An HTTP/1.1 response as read off the wire: status, Content-Type and body.</summary>
internal sealed record HttpAnswer(int Status, string? ContentType, string Body)
{
    public static bool TryParse(byte[] data, out HttpAnswer answer)
    {
        answer = null!;
        var text = Encoding.ASCII.GetString(data);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var lines = text[..end].Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        string? Header(string name) => lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals(name, StringComparison.OrdinalIgnoreCase)).Select(p => p[1].Trim()).FirstOrDefault();
        var length = Header("Content-Length") is { } l ? int.Parse(l, System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (data.Length < end + 4 + length)
        {
            return false;
        }

        answer = new HttpAnswer(status, Header("Content-Type")?.Split(';')[0], Encoding.UTF8.GetString(data, end + 4, length));
        return true;
    }
}
