using System.Globalization;
using Microsoft.Extensions.Options;

namespace XksGrpc.Broker.Configuration;

/// <summary>Listen settings: a transport, a valid socket mode, complete TLS settings, and the management listener.</summary>
internal sealed class ListenOptionsValidator : IValidateOptions<BrokerOptions>
{
    public static readonly TimeSpan MaxDrainDelay = TimeSpan.FromSeconds(10);

    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        var problems = new List<string>();
        var listen = options.Listen;
        if (string.IsNullOrEmpty(listen.UnixSocket) && listen.Tcp is null)
        {
            problems.Add("Broker:Listen: configure UnixSocket or Tcp.");
        }

        if (!string.IsNullOrEmpty(listen.UnixSocket) && !TryParseMode(listen.SocketMode, out _))
        {
            problems.Add($"Broker:Listen:SocketMode: '{listen.SocketMode}' is not an octal file mode such as 0660.");
        }

        if (listen.Tcp is { } tcp)
        {
            if (tcp.Port is < 0 or > 65535)
            {
                problems.Add($"Broker:Listen:Tcp:Port: {tcp.Port} is not a port number.");
            }

            if (!System.Net.IPAddress.TryParse(tcp.Address, out _) && tcp.Address != "localhost")
            {
                problems.Add($"Broker:Listen:Tcp:Address: '{tcp.Address}' is not an IP address.");
            }

            if (!tcp.Insecure)
            {
                RequireFile(problems, "Broker:Listen:Tcp:CertificateFile", tcp.CertificateFile);
                RequireFile(problems, "Broker:Listen:Tcp:KeyFile", tcp.KeyFile);
                RequireFile(problems, "Broker:Listen:Tcp:ClientCaFile", tcp.ClientCaFile);
                if (tcp.AllowedClientSubjects.Count == 0)
                {
                    problems.Add("Broker:Listen:Tcp:AllowedClientSubjects: name at least one client certificate subject (CN), e.g. xks-edge.");
                }
            }
        }

        if (listen.DrainDelay < TimeSpan.Zero || listen.DrainDelay > MaxDrainDelay)
        {
            problems.Add($"Broker:Listen:DrainDelay: {listen.DrainDelay} is outside 00:00:00-00:00:10 (the appliance's stop timeout is 15 s).");
        }

        options.Management.Check("Broker:Management", problems, listen.Tcp is { } t ? [("Broker:Listen:Tcp:Port", t.Port)] : []);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    public static bool TryParseMode(string? text, out UnixFileMode mode)
    {
        mode = 0;
        if (string.IsNullOrEmpty(text) || text.Length > 4)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }
        }

        mode = (UnixFileMode)Convert.ToInt32(text, 8);
        return true;
    }

    private static void RequireFile(List<string> problems, string setting, string? path)
    {
        if (string.IsNullOrEmpty(path))
        {
            problems.Add($"{setting}: required unless Insecure is true.");
        }
        else if (!File.Exists(path))
        {
            problems.Add($"{setting}: '{path}' does not exist.");
        }
    }
}

/// <summary>PKCS#11 settings: module, tokens, PIN sources, pool and timers.</summary>
internal sealed class Pkcs11OptionsValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        var problems = new List<string>();
        var p = options.Pkcs11;
        if (string.IsNullOrWhiteSpace(p.ModulePath))
        {
            problems.Add("Broker:Pkcs11:ModulePath: required.");
        }
        else if (p.ModulePath.Contains('/') && !File.Exists(p.ModulePath))
        {
            problems.Add($"Broker:Pkcs11:ModulePath: '{p.ModulePath}' does not exist.");
        }

        if (p.Tokens.Count is 0 or > 10)
        {
            problems.Add("Broker:Pkcs11:Tokens: configure one to ten tokens (the spec allows at most ten ekmFleetDetails).");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < p.Tokens.Count; i++)
        {
            var t = p.Tokens[i];
            var setting = $"Broker:Pkcs11:Tokens:{i}";
            if (string.IsNullOrWhiteSpace(t.Id))
            {
                problems.Add($"{setting}:Id: required.");
            }
            else if (!ids.Add(t.Id))
            {
                problems.Add($"{setting}:Id: '{t.Id}' is used twice.");
            }

            if (string.IsNullOrWhiteSpace(t.Label) == string.IsNullOrWhiteSpace(t.Serial))
            {
                problems.Add($"{setting}: set exactly one of Label or Serial.");
            }

            if (PinSource.Problem(t, setting) is { } pinProblem)
            {
                problems.Add(pinProblem);
            }
        }

        if (p.SessionPoolSize is < 1 or > 1024)
        {
            problems.Add($"Broker:Pkcs11:SessionPoolSize: {p.SessionPoolSize} is not between 1 and 1024.");
        }

        if (p.SessionWaitTimeout <= TimeSpan.Zero || p.SessionWaitTimeout > TimeSpan.FromSeconds(10))
        {
            problems.Add("Broker:Pkcs11:SessionWaitTimeout: must be more than 0 and at most 10 seconds.");
        }

        if (string.IsNullOrWhiteSpace(p.HealthKeyLabel) || p.HealthKeyLabel.Contains('#'))
        {
            problems.Add("Broker:Pkcs11:HealthKeyLabel: required, without '#'.");
        }

        if (p.HealthCheckInterval <= TimeSpan.Zero || p.HealthCheckInterval > TimeSpan.FromSeconds(60))
        {
            problems.Add("Broker:Pkcs11:HealthCheckInterval: must be more than 0 and at most 60 seconds (the spec's cache bound).");
        }

        if (p.KeyRefreshInterval <= TimeSpan.Zero || p.KeyRefreshInterval > TimeSpan.FromMinutes(10))
        {
            problems.Add("Broker:Pkcs11:KeyRefreshInterval: must be more than 0 and at most 10 minutes.");
        }

        if (p.ReconnectMinDelay <= TimeSpan.Zero || p.ReconnectMaxDelay < p.ReconnectMinDelay)
        {
            problems.Add("Broker:Pkcs11:ReconnectMinDelay/ReconnectMaxDelay: need 0 < ReconnectMinDelay <= ReconnectMaxDelay.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}

/// <summary>Keystores: unique names, valid external key ids, never the health key.</summary>
internal sealed class KeystoresValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        var problems = new List<string>();
        if (options.Keystores.Count == 0)
        {
            problems.Add("Broker:Keystores: configure at least one keystore.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Keystores.Count; i++)
        {
            var ks = options.Keystores[i];
            var setting = $"Broker:Keystores:{i}";
            if (string.IsNullOrWhiteSpace(ks.Name))
            {
                problems.Add($"{setting}:Name: required.");
            }
            else if (!names.Add(ks.Name))
            {
                problems.Add($"{setting}:Name: '{ks.Name}' is used twice.");
            }

            for (var k = 0; k < ks.Keys.Count; k++)
            {
                var key = ks.Keys[k];
                if (!IsExternalKeyId(key))
                {
                    problems.Add($"{setting}:Keys:{k}: '{key}' is not an external key id (1-128 of [A-Za-z0-9._-]).");
                }
                else if (key == options.Pkcs11.HealthKeyLabel)
                {
                    problems.Add($"{setting}:Keys:{k}: '{key}' is the health check key; it may not be used by a keystore.");
                }
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    /// <summary>The spec's externalKeyId: 1-128 characters of [A-Za-z0-9._-].</summary>
    public static bool IsExternalKeyId(string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > 128)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-'))
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>Limits: at least the spec's minima, and what the AAD framing can carry.</summary>
internal sealed class LimitsValidator : IValidateOptions<BrokerOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        var problems = new List<string>();
        var l = options.Limits;
        if (l.MaxPlaintextBytes < LimitsOptions.SpecMinPlaintextBytes || l.MaxPlaintextBytes > 32768)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"Broker:Limits:MaxPlaintextBytes: {l.MaxPlaintextBytes} is not between the spec's minimum {LimitsOptions.SpecMinPlaintextBytes} and 32768."));
        }

        if (l.MaxAadBytes < LimitsOptions.SpecMinAadBytes || l.MaxAadBytes > 32768)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture,
                $"Broker:Limits:MaxAadBytes: {l.MaxAadBytes} is not between the spec's minimum {LimitsOptions.SpecMinAadBytes} and 32768."));
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
