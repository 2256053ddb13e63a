using MetaGrad.Tests.Backends;
using Xunit.Abstractions;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// ELU, SELU and CELU as one kernel each way: float32's vectorised forward and backward against
/// the float64 formula at both vector widths (tails, the split between threads, arguments past
/// float's exponent range), the gradient at 0 from the exponential branch as PyTorch's, NaN kept and
/// no NaN from a large input's discarded branch; second derivatives (a recorded backward composes)
/// against finite differences. Values against PyTorch: the conformance suite.
/// </summary>
[Collection(ProcessWideState.Name)]   // switches FloatMath's vector width
public class EluTests(ITestOutputHelper output)
{
    const double SeluAlpha = 1.6732632423543772848170429916717, SeluScale = 1.0507009873554804934193349852946;

    // name, the function, α, scale, input scale
    public static TheoryData<string, int> Cases => new() { { "elu", 7 }, { "elu", 90001 }, { "selu", 33 }, { "selu", 90001 }, { "celu", 1001 } };

    static (Func<Tensor, Tensor> F, double Alpha, double Scale, double InputScale) Settings(string name) => name switch
    {
        "elu" => (x => F.Elu(x, 0.7), 0.7, 1, 1),
        "selu" => (F.Selu, SeluAlpha, SeluScale, 1),
        _ => (x => F.Celu(x, 1.5), 1.5, 1, 1 / 1.5),
    };

    [Theory, MemberData(nameof(Cases))]
    public void Float32_ForwardAndBackward_MatchTheFloat64Formula(string name, int length)
    {
        var (f, alpha, scale, inputScale) = Settings(name);
        var x = Tensor.Linspace(-150, 150, 3 * length, dtype: DType.Float32).Reshape(3, length);
        var upstream = Tensor.Randn([3, length], generator: new Generator(31));
        var x64 = x.To(DType.Float64).ToArray<double>();
        var g64 = upstream.To(DType.Float64).ToArray<double>();
        foreach (var width in VectorWidths.OfFloatMath(output))
        {
            var a = x.Clone().RequiresGrad_();
            var y = f(a).To(DType.Float64).ToArray<double>();
            var grad = Autograd.Grad(f(a), a, upstream).To(DType.Float64).ToArray<double>();
            for (int i = 0; i < x64.Length; i++)
            {
                // The exponent rounded to float first, as the kernel (and libtorch's float kernel)
                // computes it: its rounding alone moves e^z by up to 0.5 ulp of z, 5 ulp at z = -85.
                double v = x64[i], e = Math.Exp((float)(Math.Min(v, 0) * (float)inputScale));
                double expected = v > 0 ? scale * v : scale * alpha * (e - 1);
                double expectedGrad = v > 0 ? g64[i] * scale : g64[i] * scale * alpha * inputScale * e;
                Assert.True(Math.Abs(y[i] - expected) <= 3e-7 * Math.Abs(expected) + 1e-7, $"{name} {width}: forward at {v}: {y[i]}, expected {expected}");
                // Below 1e-38 float is subnormal, with fewer digits: hence the absolute term.
                Assert.True(Math.Abs(grad[i] - expectedGrad) <= 5e-7 * Math.Abs(expectedGrad) + 1e-42, $"{name} {width}: backward at {v}: {grad[i]}, expected {expectedGrad}");
            }
        }
    }

    [Theory]
    [InlineData("elu", DType.Float32)]
    [InlineData("selu", DType.Float64)]
    [InlineData("celu", DType.Float32)]
    public void AtZero_NaN_AndInfinities(string name, DType dtype)
    {
        var (f, alpha, scale, inputScale) = Settings(name);
        var x = Tensor.From(new[] { 0.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e30 }, [5]).To(dtype).RequiresGrad_();
        var y = f(x);
        var grad = Autograd.Grad(y, x, Tensor.OnesLike(y)).To(DType.Float64).ToArray<double>();
        var values = y.To(DType.Float64).ToArray<double>();
        double tolerance = dtype == DType.Float32 ? 1e-6 : 1e-14;
        Assert.Equal(0.0, values[0]);
        Assert.Equal(scale * alpha * inputScale, grad[0], tolerance);   // PyTorch's: the exponential branch at 0
        Assert.True(double.IsNaN(values[1]) && double.IsNaN(grad[1]));
        Assert.Equal(double.PositiveInfinity, values[2]);
        Assert.Equal(scale, grad[2], tolerance);
        Assert.Equal(-scale * alpha, values[3], tolerance);
        Assert.Equal(0.0, grad[3]);
        Assert.Equal(scale, grad[4], tolerance);   // no NaN from e^(1e30) in the discarded branch
    }

    [Fact]
    public void SecondDerivatives_MatchFiniteDifferences()
    {
        var x = (Tensor.Rand([3, 5], DType.Float64, generator: new Generator(32)) * 8 - 4).RequiresGrad_();
        foreach (var name in new[] { "elu", "selu", "celu" })
            Check.Gradients(v =>
            {
                var weights = Tensor.Rand([3, 5], DType.Float64, generator: new Generator(33));
                return Autograd.Grad([(Settings(name).F(v[0]) * weights).Sum()], v, createGraph: true)[0]!;
            }, x);
    }
}
