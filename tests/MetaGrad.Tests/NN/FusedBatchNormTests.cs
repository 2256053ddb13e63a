using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The batch-normalisation kernel (statistics in two passes per channel, the backward's closed
/// form in two) held equal to the same formulas as recorded tensor operations, for every rank
/// BatchNorm takes, with and without γ and β, and with a mean far from zero (where a one-pass
/// variance E[x²] − μ² would cancel).
/// </summary>
public class FusedBatchNormTests
{
    public static TheoryData<int[], bool, double> Cases => new()
    {
        { [7, 3], true, 0 }, { [4, 5, 9], true, 0 }, { [3, 4, 6, 5], true, 0 }, { [3, 4, 6, 5], false, 0 },
        { [2, 3, 2, 3, 4], true, 0 }, { [8, 2, 33, 31], true, 1000 },
    };

    static Tensor Composed(Tensor x, Tensor? weight, Tensor? bias, double eps)
    {
        var dims = Enumerable.Range(0, x.NDim).Where(d => d != 1).ToArray();
        var shape = Enumerable.Range(0, x.NDim).Select(d => d == 1 ? x.Shape[1] : 1).ToArray();
        var mean = x.Mean(dims, keepDim: true);
        var y = (x - mean) / (x.Var(dims, correction: 0, keepDim: true) + eps).Sqrt();
        return weight is null ? y : y * weight.Reshape(shape) + bias!.Reshape(shape);
    }

    [Theory, MemberData(nameof(Cases))]
    public void ValuesAndGradients_EqualTheComposedFormulas(int[] shape, bool affine, double offset)
    {
        foreach (var (dtype, tolerance) in new[] { (DType.Float64, 1e-10), (DType.Float32, 2e-4) })
        {
            var g = new Generator((ulong)shape.Sum() + (affine ? 1UL : 0));
            var x = (Tensor.Randn(shape, dtype, generator: g) * 3 + offset).RequiresGrad_();
            var weight = affine ? Tensor.Randn([shape[1]], dtype, generator: g).RequiresGrad_() : null;
            var bias = affine ? Tensor.Randn([shape[1]], dtype, generator: g).RequiresGrad_() : null;
            var (fused, mean, variance) = Functions.Ops.BatchNormTraining(x, weight, bias, 1e-5);
            var composed = Composed(x, weight, bias, 1e-5);
            Assert.True(fused.AllClose(composed, tolerance, tolerance), $"{dtype} output");
            var dims = Enumerable.Range(0, x.NDim).Where(d => d != 1).ToArray();
            Assert.True(mean.AllClose(x.Mean(dims, keepDim: true), tolerance, tolerance * (1 + offset)), $"{dtype} mean");
            Assert.True(variance.AllClose(x.Var(dims, correction: 0, keepDim: true), tolerance, tolerance), $"{dtype} variance");
            var upstream = Tensor.Randn(shape, dtype, generator: g);
            Tensor[] inputs = affine ? [x, weight!, bias!] : [x];
            var fusedGrads = Autograd.Grad([fused], inputs, [upstream]);
            var composedGrads = Autograd.Grad([composed], inputs, [upstream]);
            for (int i = 0; i < inputs.Length; i++)
                Assert.True(fusedGrads[i]!.AllClose(composedGrads[i]!, tolerance, tolerance * 10), $"{dtype} gradient {i}");
        }
    }
}
