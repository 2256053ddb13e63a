using System.Runtime.Intrinsics;
using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>The vector widths FloatMath's kernels can run at on this machine, selected in turn.</summary>
static class FloatWidths
{
    /// <summary>
    /// The 256-bit path, then the 512-bit one where AVX-512 is accelerated (where it is not, the
    /// output says so): the body runs once per width, with <see cref="FloatMath.UseVector512"/> set.
    /// </summary>
    public static IEnumerable<string> Each(ITestOutputHelper output)
    {
        bool saved = FloatMath.UseVector512;
        try
        {
            FloatMath.UseVector512 = false;
            yield return "256-bit";
            if (Vector512.IsHardwareAccelerated)
            {
                FloatMath.UseVector512 = true;
                yield return "512-bit";
            }
            else output.WriteLine("Vector512 is not accelerated on this machine: only the 256-bit path was tested.");
        }
        finally
        {
            FloatMath.UseVector512 = saved;
        }
    }
}
