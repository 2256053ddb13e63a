using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace MetaGrad.Backends.Cpu;

/// <summary>Facts about the processor that a kernel's choice depends on, where the choice was measured to differ by maker.</summary>
internal static class Processor
{
    /// <summary>Whether CPUID names AMD as the processor's maker.</summary>
    internal static readonly bool IsAmd = ReadIsAmd();

    static bool ReadIsAmd()
    {
        if (!X86Base.IsSupported) return false;
        // CPUID leaf 0 spells the vendor in EBX, EDX, ECX, in that order.
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        ReadOnlySpan<int> vendor = [ebx, edx, ecx];
        return MemoryMarshal.AsBytes(vendor).SequenceEqual("AuthenticAMD"u8);
    }
}
