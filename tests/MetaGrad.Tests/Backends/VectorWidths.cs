using System.Runtime.Intrinsics;
using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>The vector widths a kernel family can run at on this machine, selected in turn.</summary>
static class VectorWidths
{
    /// <summary>
    /// The 256-bit path, then the 512-bit one where AVX-512 is accelerated (where it is not, the
    /// output says so): the body runs once per width, with the family's switch (get and set) set,
    /// and the switch is put back after.
    /// </summary>
    public static IEnumerable<string> Each(ITestOutputHelper output, Func<bool> get, Action<bool> set)
    {
        bool saved = get();
        try
        {
            set(false);
            yield return "256-bit";
            if (Vector512.IsHardwareAccelerated)
            {
                set(true);
                yield return "512-bit";
            }
            else output.WriteLine("Vector512 is not accelerated on this machine: only the 256-bit path was tested.");
        }
        finally
        {
            set(saved);
        }
    }

    /// <summary><see cref="Each"/> for FloatMath's exp, sigmoid and tanh and the fused rows built on them.</summary>
    public static IEnumerable<string> OfFloatMath(ITestOutputHelper output) =>
        Each(output, () => FloatMath.UseVector512, wide => FloatMath.UseVector512 = wide);

    /// <summary><see cref="Each"/> for the GEMM's micro-kernels.</summary>
    public static IEnumerable<string> OfGemm(ITestOutputHelper output) =>
        Each(output, () => Gemm.UseVector512, wide => Gemm.UseVector512 = wide);
}
