// The drills run real processes, SoftHSMv2 and signals: Linux only.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
