namespace MetaGrad.Tests.Backends;

/// <summary>
/// The softmax and log-softmax nodes' backward row kernel held to the formulas it replaces
/// (y·(g − Σ g·y) and g − exp(y)·Σ g, as recorded tensor operations), for a plain and an expanded
/// upstream gradient, and their second derivatives, which go through the tensor operations.
/// </summary>
public class SoftmaxBackwardKernelTests
{
    static Tensor Formula(Tensor x, Tensor g, bool log, int dim)
    {
        var y = log ? x.LogSoftmax(dim) : x.Softmax(dim);
        return log ? g - y.Exp() * g.Sum(dim, keepDim: true) : y * (g - (g * y).Sum(dim, keepDim: true));
    }

    [Theory]
    [InlineData(false, -1)]
    [InlineData(true, -1)]
    [InlineData(false, 1)]
    [InlineData(true, 2)]
    public void Gradient_EqualsTheFormula(bool log, int dim)
    {
        foreach (var (dtype, tolerance) in new[] { (DType.Float64, 1e-12), (DType.Float32, 1e-5) })
        {
            var g = new Generator(21);
            var x = (Tensor.Randn([3, 5, 37], dtype, generator: g) * 4).RequiresGrad_();
            var upstream = Tensor.Randn([3, 5, 37], dtype, generator: g);
            var y = log ? x.LogSoftmax(dim) : x.Softmax(dim);
            var dx = Autograd.Grad([y], [x], [upstream], retainGraph: true)[0]!;
            Tensor expected;
            using (Autograd.NoGrad()) expected = Formula(x.Detach(), upstream, log, dim);
            Assert.True(dx.AllClose(expected, tolerance, tolerance), $"{dtype}");
            // An expanded gradient (a mean's) is read through its strides.
            var dxMean = Autograd.Grad([y.Mean()], [x])[0]!;
            using (Autograd.NoGrad()) expected = Formula(x.Detach(), Tensor.Full([3, 5, 37], 1.0 / y.Numel, dtype), log, dim);
            Assert.True(dxMean.AllClose(expected, tolerance, tolerance), $"{dtype} expanded");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void SecondDerivative_MatchesFiniteDifferences(bool log)
    {
        var x = Tensor.Randn([2, 6], DType.Float64, generator: new Generator(5)).RequiresGrad_();
        var w = Tensor.Randn([2, 6], DType.Float64, generator: new Generator(6));
        // The gradient of a weighted sum of the first derivative, checked by finite differences.
        Assert.True(Autograd.GradCheck(t =>
        {
            var y = log ? t[0].LogSoftmax(-1) : t[0].Softmax(-1);
            var dx = Autograd.Grad([(y * w).Sum()], [t[0]], createGraph: true)[0]!;
            return (dx * dx).Sum();
        }, [x]));
    }
}
