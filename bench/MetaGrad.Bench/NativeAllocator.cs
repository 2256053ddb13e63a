using System.Runtime.InteropServices;

namespace MetaGrad.Bench;

/// <summary>
/// Puts glibc's malloc, which libtorch allocates every result with, into one steady state for
/// the whole run. By default glibc serves blocks from 128 KB up with fresh mmap calls and raises
/// that threshold each time such a block is freed (up to 32 MB): so a libtorch row's time
/// depended on which rows ran before it. Each fresh mapping costs a page fault per 4 KB on first
/// touch, and measured here the same libtorch row swung 2-12x between a full run, --quick and
/// --only (the conv 3×3 row 40.8 vs 126 ms, a+b on 16M floats 7.4 vs 89 ms). With mmap off and
/// no trimming, freed memory is reused as it is in a warmed-up PyTorch process with a caching
/// allocator; libtorch is measured at its best, not at the allocator's whim. MetaGrad's managed
/// arrays come from the .NET GC and are not affected.
/// </summary>
static class NativeAllocator
{
    const int TrimThreshold = -1, MmapMax = -4;   // glibc's M_TRIM_THRESHOLD and M_MMAP_MAX

    [DllImport("libc", EntryPoint = "mallopt")]
    static extern int Mallopt(int parameter, int value);

    /// <summary>What the run's header says about the allocator libtorch ran on.</summary>
    public static string Setting { get; private set; } = "glibc malloc defaults";

    /// <summary>Turns off glibc's mmap for large blocks and its trimming (Linux with glibc only; elsewhere says so).</summary>
    public static void Steady()
    {
        if (!OperatingSystem.IsLinux()) return;
        try
        {
            if (Mallopt(MmapMax, 0) == 1 && Mallopt(TrimThreshold, int.MaxValue) == 1)
                Setting = "glibc malloc with mmap and trimming off (mallopt), so libtorch reuses freed memory";
        }
        catch (DllNotFoundException) { Setting = "glibc not found: allocator defaults"; }
        catch (EntryPointNotFoundException) { Setting = "no mallopt (not glibc): allocator defaults"; }
    }
}
