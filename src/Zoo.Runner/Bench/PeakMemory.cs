using System.Runtime.InteropServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Zoo.Runner.Bench;

/// <summary>
/// The process's peak resident memory (Linux <c>VmHWM</c>) since <see cref="Start"/>, for the <c>peak_memory_bytes</c>
/// column of bench and result rows. It is the whole process's peak: libtorch, the .NET runtime and anything else the
/// process holds are in it, so rows are compared with each other, not read as a layer's own footprint. On CUDA it is
/// empty: TorchSharp 0.107 exposes no allocator statistics. Process-wide, so measurements must not overlap.
/// </summary>
public sealed class PeakMemory
{
    private const string StatusFile = "/proc/self/status", ClearRefsFile = "/proc/self/clear_refs";
    private readonly bool _measurable;

    private PeakMemory(bool measurable, bool reset) => (_measurable, WasReset) = (measurable, reset);

    /// <summary>
    /// True when the high-water mark was reset at the start; false when the kernel refused it, and the peak then
    /// also covers what the process held before.
    /// </summary>
    public bool WasReset { get; }

    /// <summary>
    /// Starts a measurement on <paramref name="device"/>: on CPU under Linux, returns freed memory to the OS (a .NET
    /// collection and glibc's <c>malloc_trim</c>, so an earlier measurement's freed blocks are not counted again) and
    /// resets the peak by writing 5 to <c>/proc/self/clear_refs</c>.
    /// </summary>
    public static PeakMemory Start(Device device)
    {
        if (device.type != DeviceType.CPU || !File.Exists(StatusFile)) return new PeakMemory(false, false);
        GC.Collect();
        GC.WaitForPendingFinalizers();
        TrimNativeHeap();
        try
        {
            File.WriteAllText(ClearRefsFile, "5");
            return new PeakMemory(true, true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return new PeakMemory(true, false);
        }
    }

    /// <summary>Peak resident bytes since <see cref="Start"/> (see <see cref="WasReset"/>); null where it cannot be measured.</summary>
    public long? Bytes() => _measurable ? StatusBytes("VmHWM") : null;

    /// <summary>Current resident bytes (<c>VmRSS</c>); null outside Linux.</summary>
    public static long? ResidentBytes() => File.Exists(StatusFile) ? StatusBytes("VmRSS") : null;

    // /proc/self/status reports "VmHWM:\t  123456 kB".
    private static long? StatusBytes(string field)
    {
        var line = File.ReadLines(StatusFile).FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        if (line is null) return null;
        var parts = line[(field.Length + 1)..].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture) * 1024;
    }

    private static void TrimNativeHeap()
    {
        try { malloc_trim(UIntPtr.Zero); }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { } // not glibc: nothing to trim
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    private static extern int malloc_trim(UIntPtr pad);
}
