using MetaGrad.Backends.Cpu;
using MetaGrad.Optim;
using MetaGrad.Tests.Backends;
using Xunit.Abstractions;

namespace MetaGrad.Tests.Optim;

/// <summary>The fused Adam kernel is bit-identical to the step written as tensor operations, at every vector width the machine has.</summary>
[Collection(ProcessWideState.Name)]   // sets or reads the process-wide thread count and the update kernels' width
public class AdamFusedTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(DType.Float32, false, false, 0.0, false)]
    [InlineData(DType.Float32, true, false, 0.01, false)]
    [InlineData(DType.Float32, false, true, 0.1, true)]
    [InlineData(DType.Float64, true, true, 0.05, true)]
    [InlineData(DType.Float64, false, false, 0.0, false)]
    // Over 64K elements the update runs in one range per thread (3 here: uneven ranges, a tail).
    [InlineData(DType.Float32, false, false, 0.0, false, 13109)]
    [InlineData(DType.Float64, true, true, 0.05, true, 13109)]
    public void FusedStep_EqualsTensorOperations(DType dtype, bool amsgrad, bool maximize, double weightDecay, bool decoupled, int rows = 37)
    {
        var g = new Generator(21);
        var start = Tensor.Randn([rows, 5], dtype, generator: g);
        var grads = Enumerable.Range(0, 6).Select(_ => Tensor.Randn([rows, 5], dtype, generator: g)).ToArray();
        Tensor Run(bool fused)
        {
            var p = start.Clone().RequiresGrad_();
            var betas = (amsgrad ? 0.3 : 0.8, 0.99);   // beta1 below 0.5 takes the other branch of lerp
            var opt = new Adam([p], lr: 0.01, betas: betas, weightDecay: weightDecay, amsgrad: amsgrad, maximize: maximize, decoupledWeightDecay: decoupled) { Fused = fused };
            foreach (var grad in grads)
            {
                p.Grad = grad.Clone();
                opt.Step();
            }
            return p.Detach();
        }
        var reference = Run(false);
        Assert.False(start.AllClose(reference));
        foreach (var width in VectorWidths.Each(output, () => CpuBackend.UseVector512Updates, wide => CpuBackend.UseVector512Updates = wide))
        {
            Tensor fusedResult;
            using (ThreadScope.Of(3)) fusedResult = Run(true);
            Assert.True(reference.ToArray<double>().SequenceEqual(fusedResult.ToArray<double>()), $"{width}: the fused step differs from the tensor operations");
        }
    }
}
