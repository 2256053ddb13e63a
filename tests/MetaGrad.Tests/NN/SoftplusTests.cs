using MetaGrad.Tests.Backends;
using Xunit.Abstractions;
using F = MetaGrad.NN.Functional;

namespace MetaGrad.Tests.NN;

/// <summary>
/// Softplus as one kernel each way (and LogSigmoid and Mish through it): float32's vectorised
/// forward and backward against the float64 formula in units of the last place, at both vector
/// widths, over arguments from -120 to 120 (e^x subnormal and beyond), with thresholds, negative β
/// (LogSigmoid's -1), tails and the split between threads; the infinities and NaN; second
/// derivatives (a recorded backward composes) against finite differences. Values against
/// PyTorch: the conformance suite.
/// </summary>
[Collection(ProcessWideState.Name)]   // switches FloatMath's vector width
public class SoftplusTests(ITestOutputHelper output)
{
    public static TheoryData<int, double, double> Cases => new()
    {
        { 7, 1, 20 }, { 33, 1, double.PositiveInfinity }, { 90001, 1, 20 }, { 1001, 2, 5 }, { 1001, 0.5, 20 }, { 90001, -1, double.PositiveInfinity }, { 33, -3, 1 },
    };

    [Theory, MemberData(nameof(Cases))]
    public void Float32_ForwardAndBackward_WithinUnitsInTheLastPlaceOfFloat64(int length, double beta, double threshold)
    {
        var x = Tensor.Linspace(-120, 120, 3 * length, dtype: DType.Float32).Reshape(3, length);
        var upstream = Tensor.Randn([3, length], generator: new Generator(21));
        foreach (var width in VectorWidths.OfFloatMath(output))
        {
            var a = x.Clone().RequiresGrad_();
            var y = F.Softplus(a, beta, threshold);
            var grad = Autograd.Grad(y, a, upstream);
            // βx rounded to float first, as the kernel (and libtorch's float kernel) computes it: its
            // rounding alone moves e^(βx) by up to 0.5 ulp of βx, 7 units in the last place at |βx| = 14.
            var x64 = x.To(DType.Float64);
            var z = (x * beta).To(DType.Float64);
            var expected = Softplus64(x64, beta, threshold, z);
            var sigmoid = Tensor.From(z.ToArray<double>().Select(v => v < 0 ? Math.Exp(v) / (1 + Math.Exp(v)) : 1 / (1 + Math.Exp(-v))).ToArray(), [3, length]);
            var expectedGrad = upstream.To(DType.Float64) * Tensor.Where(z > threshold, Tensor.OnesLike(x64), sigmoid);
            AssertUlps(y, expected, 4, $"{width} forward β={beta} threshold={threshold}");
            AssertUlps(grad, expectedGrad, 4, $"{width} backward β={beta} threshold={threshold}");
        }
    }

    // log(1 + e^z)/β in double, with log1p: the reference the float kernel is held to.
    static Tensor Softplus64(Tensor x, double beta, double threshold, Tensor? products = null)
    {
        var zs = (products ?? x * beta).ToArray<double>();
        var values = x.ToArray<double>().Select((v, i) =>
        {
            double z = zs[i];
            if (z > threshold) return v;
            double u = Math.Exp(-Math.Abs(z)), w = 1 + u;
            double log1p = w == 1 ? u : Math.Log(w) * (u / (w - 1));
            return (Math.Max(z, 0) + log1p) / beta;
        }).ToArray();
        return Tensor.From(values, x.Shape.ToArray());
    }

    // Each value within n units in the last place of float at the expected value (or equal, where the
    // expected value is not finite, or below float's smallest normal, where float has fewer digits).
    static void AssertUlps(Tensor actual, Tensor expected, int n, string what)
    {
        var a = actual.To(DType.Float64).ToArray<double>();
        var e = expected.ToArray<double>();
        for (int i = 0; i < a.Length; i++)
        {
            double ulp = Math.Max(Math.Abs(e[i]) * Math.Pow(2, -23), Math.Pow(2, -149));
            if (Math.Abs(e[i]) < 1.2e-38) ulp = Math.Pow(2, -149);
            Assert.True(!double.IsFinite(e[i]) ? a[i].Equals(e[i]) : Math.Abs(a[i] - e[i]) <= n * ulp,
                $"{what}: element {i}: {a[i]:R}, expected {e[i]:R}");
        }
    }

    [Theory]
    [InlineData(DType.Float32)]
    [InlineData(DType.Float64)]
    public void Infinities_AndNaN_AsPyTorchs(DType dtype)
    {
        var x = Tensor.From(new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0.0 }, [4]).To(dtype);
        var softplus = F.Softplus(x, threshold: double.PositiveInfinity).To(DType.Float64).ToArray<double>();
        Assert.True(double.IsNaN(softplus[0]));
        Assert.Equal(double.PositiveInfinity, softplus[1]);
        Assert.Equal(0.0, softplus[2]);
        Assert.Equal(Math.Log(2), softplus[3], dtype == DType.Float32 ? 1e-7 : 1e-15);
        var logSigmoid = F.LogSigmoid(x).To(DType.Float64).ToArray<double>();
        Assert.True(double.IsNaN(logSigmoid[0]));
        Assert.Equal(0.0, logSigmoid[1]);
        Assert.Equal(double.NegativeInfinity, logSigmoid[2]);
        Assert.Equal(-Math.Log(2), logSigmoid[3], dtype == DType.Float32 ? 1e-7 : 1e-15);
    }

    [Fact]
    public void Float64_FusedEqualsTheFormula_AndSecondDerivativesMatchFiniteDifferences()
    {
        var x = (Tensor.Rand([3, 50], DType.Float64, generator: new Generator(23)) * 60 - 30).RequiresGrad_();
        Assert.True(F.Softplus(x, 1.5, 20).AllClose(Softplus64(x.Detach(), 1.5, 20), 1e-15, 0));
        var small = (Tensor.Rand([3, 5], DType.Float64, generator: new Generator(24)) * 8 - 4).RequiresGrad_();
        foreach (var f in new Func<Tensor, Tensor>[] { v => F.Softplus(v, 2, 3), F.LogSigmoid, F.Mish })
            Check.Gradients(v =>
            {
                var weights = Tensor.Rand([3, 5], DType.Float64, generator: new Generator(25));
                return Autograd.Grad([(f(v[0]) * weights).Sum()], v, createGraph: true)[0]!;
            }, small);
    }
}
