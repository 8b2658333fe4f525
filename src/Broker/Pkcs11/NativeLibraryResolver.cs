using System.Reflection;
using System.Runtime.InteropServices;

namespace XksGrpc.Broker.Pkcs11;

/// <summary>
/// Pkcs11Interop 5.3.0 P/Invokes "libdl" for dlopen/dlsym; modern glibc ships only "libdl.so.2"
/// (design.md, machine pitfalls). Maps the name without needing a symlink. Registered once per process.
/// </summary>
internal static class NativeLibraryResolver
{
    private static int _registered;

    public static void Register()
    {
        if (Interlocked.Exchange(ref _registered, 1) == 1)
        {
            return;
        }

        NativeLibrary.SetDllImportResolver(typeof(Net.Pkcs11Interop.Common.CKR).Assembly, Resolve);
    }

    private static IntPtr Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (libraryName == "libdl" && OperatingSystem.IsLinux())
        {
            if (NativeLibrary.TryLoad("libdl.so.2", assembly, searchPath, out var handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero; // default probing
    }
}
