using System.Runtime.InteropServices;

namespace FhirPriorAuth.Server.Hosting;

/// <summary>
/// Returns glibc's free heap pages to the system once start-up is done (ADR 0012). Start-up grows the main heap to
/// 20-70 MB, mostly freed by the time the server is ready, and glibc gives back only what is free at the heap's top: in
/// some starts 50 MB stayed resident for the whole run, the difference between runs under 400 MB and runs over it.
/// </summary>
internal static class NativeHeap
{
    public static void Trim()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            // Not glibc (musl has no malloc_trim): nothing to trim with.
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int MallocTrim(nuint pad);
}
