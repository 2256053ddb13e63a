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

    // Along a dim followed by others, the kernels keep each block's lines side by side: held to
    // the row kernels run on the dim moved last, forward and backward, with lines across blocks of
    // 512 columns and the thread split, a line of -inf but one, one holding +inf (no shift), one
    // holding NaN, trailing dims of size 1, and a transposed input.
    [Theory]
    [InlineData(false, 0)]
    [InlineData(true, 0)]
    [InlineData(false, 1)]
    [InlineData(true, 1)]
    [InlineData(true, 2)]
    public void AlongAnInnerDim_EqualsTheRowKernelsOnTheDimMovedLast(bool log, int dim)
    {
        foreach (var (dtype, tolerance) in new[] { (DType.Float64, 1e-13), (DType.Float32, 2e-6) })
        {
            var g = new Generator((ulong)(31 + dim));
            var x = Tensor.Randn([12, 24, 1000, 1], dtype, generator: g) * 4;
            x[Tensor.Ellipsis, 3, 0] = double.NegativeInfinity;
            x[0, 0, 3, 0] = 1.0;
            x[1, 2, 5, 0] = double.PositiveInfinity;
            x[2, 4, 6, 0] = double.NaN;
            var upstream = Tensor.Randn([12, 24, 1000, 1], dtype, generator: g);
            foreach (var input in new[] { x, x.Transpose(0, 2).Contiguous().Transpose(0, 2) })
            {
                var a = input.Clone().RequiresGrad_();
                var y = log ? a.LogSoftmax(dim) : a.Softmax(dim);
                var dx = Autograd.Grad(y, a, upstream);
                var b = input.Transpose(dim, 2).Contiguous().RequiresGrad_();
                var yLast = log ? b.LogSoftmax(2) : b.Softmax(2);
                var dxLast = Autograd.Grad(yLast, b, upstream.Transpose(dim, 2).Contiguous());
                Assert.True(y.AllClose(yLast.Transpose(dim, 2), tolerance, tolerance), $"{dtype} forward");
                Assert.True(dx.AllClose(dxLast.Transpose(dim, 2), tolerance, tolerance), $"{dtype} backward");
            }
        }
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
