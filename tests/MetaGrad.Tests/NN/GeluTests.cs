using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// GELU as one fused node (exact and tanh-approximated): float32's vectorised forward and backward
/// against the float64 formulas, and second derivatives (through the composed backward a recorded
/// backward takes) against finite differences. Values against PyTorch: TensorValueTests and the
/// conformance suite.
/// </summary>
public class GeluTests
{
    public static TheoryData<int, string> Cases => new() { { 7, "none" }, { 33, "none" }, { 90001, "none" }, { 7, "tanh" }, { 33, "tanh" }, { 90001, "tanh" } };

    [Theory, MemberData(nameof(Cases))]
    public void Float32_ForwardAndBackward_MatchTheFloat64Formulas(int length, string approximate)
    {
        // Through erf's and exp's float accuracy (3.3e-7 and 1 ulp): within 2e-6 of double at |x| ≤ 8.
        var x = Tensor.Linspace(-8, 8, 3 * length, dtype: DType.Float32).Reshape(3, length).RequiresGrad_();
        var weights = Tensor.Randn([3, length], generator: new Generator(9));
        var y = F.Gelu(x, approximate);
        (y * weights).Sum().Backward();
        var x64 = x.Detach().To(DType.Float64).RequiresGrad_();
        var y64 = F.Gelu(x64, approximate);
        (y64 * weights.To(DType.Float64)).Sum().Backward();
        Assert.True(y.To(DType.Float64).AllClose(y64, 1e-6, 2e-6), $"forward: max difference {(y.To(DType.Float64) - y64).Abs().Max().Item<double>()}");
        // The tanh form's slope has 1 - tanh² times x·(1 + 0.134x²)/2: where tanh rounds to ±1 in
        // float its last bits are gone, scaled by up to 30 at |x| = 8, as in PyTorch's float formula.
        double tolerance = approximate == "tanh" ? 2e-5 : 2e-6;
        Assert.True(x.Grad!.To(DType.Float64).AllClose(x64.Grad!, 1e-6, tolerance), $"backward: max difference {(x.Grad!.To(DType.Float64) - x64.Grad!).Abs().Max().Item<double>()}");
    }

    [Theory]
    [InlineData("none")]
    [InlineData("tanh")]
    public void SecondDerivatives_MatchFiniteDifferences(string approximate)
    {
        var x = (Tensor.Rand([3, 5], DType.Float64, generator: new Generator(11)) * 8 - 4).RequiresGrad_();
        Check.Gradients(v =>
        {
            var y = F.Gelu(v[0], approximate);
            var weights = Tensor.Rand([3, 5], DType.Float64, generator: new Generator(12));
            return Autograd.Grad([(y * weights).Sum()], v, createGraph: true)[0]!;
        }, x);
    }

    [Fact]
    public void NaNAndInfinities_AreKept_AsPyTorchs()
    {
        // GELU(-inf) = -inf·0 is NaN in PyTorch's formula; GELU(inf) = inf.
        var x = Tensor.From(new[] { float.NaN, float.PositiveInfinity, float.NegativeInfinity, 0f }, [4]);
        var y = F.Gelu(x).ToArray<float>();
        Assert.True(float.IsNaN(y[0]));
        Assert.Equal(float.PositiveInfinity, y[1]);
        Assert.Equal(0f, y[3]);
        var expected = F.Gelu(x.To(DType.Float64)).ToArray<double>();
        Assert.Equal(double.IsNaN(expected[2]), float.IsNaN(y[2]));
    }
}
