using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using MetaGrad.Backends.Cpu;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Backends;

/// <summary>
/// CI runs the kernel tests a second time with AVX-512 switched off, so that an AVX-512 machine
/// also tests the AVX2-only paths the Zen 3 kind runs. The runtime decides what "switched off"
/// means: .NET 10 reads <c>DOTNET_EnableAVX512</c> and silently ignores the older
/// <c>DOTNET_EnableAVX512F</c>, with which that second pass had run the 512-bit paths again. So
/// <c>.ci/run</c> says what it expects (<c>METAGRAD_EXPECT_AVX2_ONLY=1</c>) and this test holds the
/// runtime, and the kernels' own width switches, to it.
/// </summary>
public class InstructionSetTests(ITestOutputHelper output)
{
    [Fact]
    public void AnAvx2OnlyRun_SeesNeitherAvx512NorVector512()
    {
        if (Environment.GetEnvironmentVariable("METAGRAD_EXPECT_AVX2_ONLY") != "1")
        {
            output.WriteLine("METAGRAD_EXPECT_AVX2_ONLY is not 1: this is not CI's AVX2-only pass, so there is nothing to hold the runtime to.");
            return;
        }
        Assert.False(Avx512F.IsSupported, "AVX-512 is still on: the runtime ignored the switch .ci/run set (DOTNET_EnableAVX512=0 on .NET 10)");
        Assert.False(Vector512.IsHardwareAccelerated, "Vector512 is still accelerated in the AVX2-only pass");
        Assert.False(FloatMath.UseVector512, "FloatMath chose 512-bit vectors in the AVX2-only pass");
        Assert.False(Gemm.UseVector512, "the GEMM chose its 512-bit kernel in the AVX2-only pass");
        // The pass exists to test the AVX2 paths, not the scalar fallbacks below them.
        Assert.True(Avx2.IsSupported && Fma.IsSupported, "AVX2 and FMA are off too: the pass would test the scalar fallbacks");
        Assert.True(FloatMath.IsAccelerated, "FloatMath's vector paths are off in the AVX2-only pass");
    }
}
