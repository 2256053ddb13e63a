namespace MetaGrad.Tests;

/// <summary>
/// Cumsum, Cumprod, Logcumsumexp and Prod: values worked by hand, dtypes as PyTorch's, and
/// finite-difference gradients in float64, at zeros too, and of the gradients themselves.
/// </summary>
public class ScanTests
{
    static Tensor D(double[] values, params int[] shape) => Tensor.From(values, shape, requiresGrad: true);

    // The gradient of Σ w·f(x) as a function of x, so GradCheck differentiates the backward itself.
    static Func<Tensor[], Tensor> GradientOf(Func<Tensor, Tensor> f, Tensor w) =>
        x => Autograd.Grad((f(x[0]) * w).Sum(), x[0], createGraph: true);

    // The running kernels (lines along a last dim, rows of accumulators in blocks of 512 columns
    // otherwise, parts for the threads) against the definition: each element summed (or multiplied)
    // in double from the start of its line and rounded once, for float, double and int64, along
    // every dim of shapes whose lines cross blocks and the thread split, from a transposed view too.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void Cumsum_AndCumprod_EqualTheRunningDefinition(int dim)
    {
        int[] shape = [3, 70, 1300];
        var g = new Generator((ulong)dim + 40);
        var x64 = Tensor.Rand(shape, DType.Float64, generator: g) * 0.2 + 0.9;
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64 })
        {
            var x = dtype == DType.Int64 ? (x64 * 3).To(DType.Int64) : x64.To(dtype);
            foreach (var transposed in new[] { false, true })
            {
                var input = transposed ? x.Transpose(0, 2).Contiguous().Transpose(0, 2) : x;
                var values = x.To(DType.Float64).ToArray<double>();
                foreach (bool sum in new[] { true, false })
                {
                    var result = sum ? input.Cumsum(dim) : input.Cumprod(dim);
                    var actual = result.To(DType.Float64).ToArray<double>();
                    var actualLongs = dtype == DType.Int64 ? result.ToArray<long>() : null;
                    int inner = shape.Skip(dim + 1).Aggregate(1, (a, b) => a * b), size = shape[dim];
                    for (int start = 0; start < values.Length; start++)
                    {
                        if (start / inner % size != 0) continue;   // lines start where k = 0
                        double acc = values[start];
                        long accLong = (long)values[start];   // int64 products wrap, as PyTorch's
                        for (int k = 0; k < size; k++)
                        {
                            int i = start + k * inner;
                            if (k > 0)
                            {
                                acc = sum ? acc + values[i] : acc * values[i];
                                accLong = unchecked(sum ? accLong + (long)values[i] : accLong * (long)values[i]);
                            }
                            bool equal = dtype == DType.Int64 ? actualLongs![i] == accLong : (dtype == DType.Float32 ? (float)acc : acc).Equals(actual[i]);
                            Assert.True(equal, $"{dtype} {(sum ? "cumsum" : "cumprod")} dim {dim}{(transposed ? " (transposed)" : "")}: element {i} = {actual[i]:R}, expected {acc:R}");
                        }
                    }
                }
            }
        }
    }

    [Fact]
    public void Cumsum_RunsAlongTheDim()
    {
        var x = Tensor.From(new double[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        Check.Values([1, 3, 6, 4, 9, 15], x.Cumsum(1));
        Check.Values([1, 2, 3, 5, 7, 9], x.Cumsum(-2));
    }

    [Fact]
    public void Cumsum_OfIntegersAndBoolsGivesInt64()
    {
        var i = Tensor.From(new[] { 1, 2, 3 }, [3]);
        Assert.Equal(DType.Int64, i.Cumsum(0).DType);
        Assert.Equal(new long[] { 1, 3, 6 }, i.Cumsum(0).ToArray<long>());
        var b = Tensor.From(new[] { true, false, true }, [3]);
        Assert.Equal(new long[] { 1, 1, 2 }, b.Cumsum(0).ToArray<long>());
        Assert.Equal(new long[] { 1, 0, 0 }, b.Cumprod(0).ToArray<long>());
    }

    [Fact]
    public void Scans_OfZeroDAndEmptyTensors()
    {
        var s = Tensor.From(2.5);
        Check.Shape([], s.Cumsum(0));
        Check.Values([2.5], s.Cumprod(-1));
        Check.Shape([0, 3], Tensor.Zeros([0, 3], DType.Float64).Cumsum(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(2, 3).Cumsum(2));
    }

    [Fact]
    public void Cumprod_Values()
    {
        var x = Tensor.From(new double[] { 2, 3, 0, 4 }, [4]);
        Check.Values([2, 6, 0, 0], x.Cumprod(0));
    }

    [Fact]
    public void Cumprod_GradientIsExactAtZeros()
    {
        // y = [2, 0, 0, 0]: only x0 and the first zero x1 receive anything with g = 1:
        // dx0 = 1 + x1 + x1·x2 + x1·x2·x3 = 1; dx1 = x0 + x0·x2 + x0·x2·x3 = 2 + 6 + 6·0.5 = 11.
        var x = D([2, 0, 3, 0.5], 4);
        x.Cumprod(0).Sum().Backward();
        Check.Values([1, 11, 0, 0], x.Grad!);
    }

    [Fact]
    public void Cumprod_FiniteDifferences()
    {
        Check.Gradients(x => x[0].Cumprod(1), Check.Input(2, 4));
        Check.Gradients(x => x[0].Cumprod(0), D([2, 0, 3, 0.5, 0, 4], 6));
        Check.Gradients(x => x[0].Cumprod(-1), D([0, 1.5, -2, 0, 0.5, 3, -1, 2], 2, 4));
        Check.Gradients(x => x[0].Cumprod(0), Check.Input(3, 2).Detach().T.RequiresGrad_());
        var w = Check.Input([6], 3).Detach();
        Check.Gradients(GradientOf(t => t.Cumprod(0), w), D([2, 0, 3, 0.5, -1, 4], 6));
        Check.Gradients(GradientOf(t => t.Cumprod(0), w), Check.Input(6));
    }

    [Fact]
    public void Cumsum_FiniteDifferences()
    {
        Check.Gradients(x => x[0].Cumsum(1), Check.Input(2, 4));
        Check.Gradients(x => x[0].Cumsum(0), Check.Input(3, 2).Detach().T.RequiresGrad_());
        Check.Gradients(x => x[0].Cumsum(0), Check.Input([], 5));
    }

    [Fact]
    public void Logcumsumexp_IsStableForAnySpread()
    {
        // log(e^-1000 + e^0) = log1p(e^-1000) = 0; naive exp would underflow the first element to -inf.
        var x = Tensor.From(new double[] { -1000, 0, 1000, double.NegativeInfinity }, [4]);
        Check.Values([-1000, 0, 1000, 1000], x.Logcumsumexp(0));
        var y = Tensor.From(new double[] { 1, 2 }, [2]).Logcumsumexp(0);
        Check.Values([1, Math.Log(Math.Exp(1) + Math.Exp(2))], y);
        Assert.Throws<ArgumentException>(() => Tensor.From(new long[] { 1 }, [1]).Logcumsumexp(0));
    }

    [Fact]
    public void Logcumsumexp_FiniteDifferences()
    {
        Check.Gradients(x => x[0].Logcumsumexp(1), Check.Input(2, 4));
        Check.Gradients(x => x[0].Logcumsumexp(0), D([-30, 0, 40, 2, 2], 5));
        var w = Check.Input([2, 4], 5).Detach();
        Check.Gradients(GradientOf(t => t.Logcumsumexp(1), w), Check.Input(2, 4));
    }

    [Fact]
    public void Prod_ValuesAndDtypes()
    {
        var x = Tensor.From(new double[] { 1, 2, 3, 4, 5, 6 }, [2, 3]);
        Check.Values([720], x.Prod());
        Check.Values([6, 120], x.Prod(1));
        Check.Shape([1, 3], x.Prod(0, keepDim: true));
        Check.Values([1], Tensor.Zeros([0], DType.Float64).Prod());
        Assert.Equal(DType.Int64, Tensor.From(new[] { 2, 3 }, [2]).Prod().DType);
        Assert.Equal(6L, Tensor.From(new[] { 2, 3 }, [2]).Prod().Item<long>());
    }

    [Fact]
    public void Prod_GradientIsExactAtZeros()
    {
        // One zero: only it receives the product of the others. Two zeros: nothing does.
        var one = D([2, 0, 3], 3);
        one.Prod().Backward();
        Check.Values([0, 6, 0], one.Grad!);
        var two = D([2, 0, 0], 3);
        two.Prod().Backward();
        Check.Values([0, 0, 0], two.Grad!);
    }

    [Fact]
    public void Prod_FiniteDifferences()
    {
        Check.Gradients(x => x[0].Prod(), Check.Input(2, 3));
        Check.Gradients(x => x[0].Prod(1), D([0, 1.5, -2, 3, 0.5, 0], 2, 3));
        Check.Gradients(x => x[0].Prod(-2, keepDim: true), Check.Input(3, 2).Detach().T.RequiresGrad_());
        var w = Check.Input([2], 9).Detach();
        Check.Gradients(GradientOf(t => t.Prod(1), w), D([0, 1.5, -2, 3, 0.5, 0.25], 2, 3));
    }
}
