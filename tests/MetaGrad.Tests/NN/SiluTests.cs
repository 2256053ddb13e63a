using MetaGrad.Tests.Backends;
using Xunit.Abstractions;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// SiLU as one kernel each way: forwards the bits of its composition x·σ(x) (the same σ, one
/// product), backwards within units in the last place of the float64 formula, at both vector
/// widths, with tails and the split between threads; NaN and the infinities; second derivatives
/// (a recorded backward composes) against finite differences.
/// </summary>
[Collection(ProcessWideState.Name)]   // switches FloatMath's vector width
public class SiluTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(7)]
    [InlineData(1001)]
    [InlineData(90001)]
    public void Float32_ForwardIsTheComposition_BackwardMatchesFloat64(int length)
    {
        var x = Tensor.Linspace(-100, 100, 3 * length, dtype: DType.Float32).Reshape(3, length);
        var upstream = Tensor.Randn([3, length], generator: new Generator(51));
        var x64 = x.To(DType.Float64).ToArray<double>();
        var g64 = upstream.To(DType.Float64).ToArray<double>();
        foreach (var width in VectorWidths.OfFloatMath(output))
        {
            var a = x.Clone().RequiresGrad_();
            var y = F.Silu(a);
            Assert.Equal((x * x.Sigmoid()).ToArray<float>(), y.ToArray<float>());
            var grad = Autograd.Grad(y, a, upstream).To(DType.Float64).ToArray<double>();
            for (int i = 0; i < x64.Length; i++)
            {
                double s = 1 / (1 + Math.Exp(-x64[i])), expected = g64[i] * s * (1 + x64[i] * (1 - s));
                // Relative to the terms, not the result: 1 - σ carries σ's rounding (an ulp of 1)
                // times x, and 1 + x·(1 - σ) cancels near the slope's zero at x ≈ -1.28, as in any
                // float formula (libtorch's is this one). Below x = -87, σ(x) leaves float's normal
                // range (and 1/(1 + e^-x) rounds to 0 past -88.7, as libtorch's does): under 1e-35.
                double scale = Math.Abs(g64[i]) * s * (1 + Math.Abs(x64[i]));
                Assert.True(Math.Abs(grad[i] - expected) <= 6e-7 * scale + 1e-35, $"{width}: backward at {x64[i]}: {grad[i]}, expected {expected}");
            }
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void NaN_AndInfinities(DType dtype)
    {
        var x = Tensor.From(new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0 }, [4]).To(dtype).RequiresGrad_();
        var y = F.Silu(x);
        var values = y.To(DType.Float64).ToArray<double>();
        var grad = Autograd.Grad(y, x, Tensor.OnesLike(y)).To(DType.Float64).ToArray<double>();
        Assert.True(double.IsNaN(values[0]) && double.IsNaN(grad[0]));
        Assert.Equal(double.PositiveInfinity, values[1]);
        Assert.Equal(0.0, Math.Abs(values[3]));
        Assert.Equal(0.5, grad[3]);
    }

    [Fact]
    public void SecondDerivatives_MatchFiniteDifferences()
    {
        var x = (Tensor.Rand([3, 5], DType.Float64, generator: new Generator(52)) * 8 - 4).RequiresGrad_();
        Check.Gradients(v =>
        {
            var weights = Tensor.Rand([3, 5], DType.Float64, generator: new Generator(53));
            return Autograd.Grad([(F.Silu(v[0]) * weights).Sum()], v, createGraph: true)[0]!;
        }, x);
    }
}
