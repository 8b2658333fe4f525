// The deployment artefacts (bash scripts, SoftHSM, systemd) are Linux-only, and so are their tests.
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
