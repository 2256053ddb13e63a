namespace MetaGrad.Tests;

/// <summary>
/// Writing by index (Scatter, ScatterReduce, IndexCopy, IndexPut, MaskedScatter), reading by
/// index (Take, TakeAlongDim) and the in-place forms: values worked by hand, PyTorch's rules for
/// ties and zeros, finite differences in float64, and how autograd records in-place writes.
/// </summary>
public class ScatterTests
{
    static Tensor D(params double[] v) => Tensor.From(v, [v.Length]);
    static Tensor L(params long[] v) => Tensor.From(v, [v.Length]);
    static Tensor In(params int[] shape) => Check.Input(shape, (ulong)shape.Sum() + 3);
    static Tensor Leaf(params double[] v) => Tensor.From(v, [v.Length], requiresGrad: true);

    // IndexAdd's slice kernel against the definition, along every dim, with repeated indices
    // accumulating in index order, for float32, float64, int64 and int32, from a transposed src.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public void IndexAdd_AddsEachSliceAtItsIndex_RepeatsAccumulating(int dim)
    {
        int[] shape = [4, 5, 6];
        var index = new long[] { 3, 0, 3, 1, 3 }.Select(i => i % shape[dim]).ToArray();
        int[] srcShape = [.. shape];
        srcShape[dim] = index.Length;
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64, DType.Int32 })
        {
            var self = (Tensor.Randn(shape, DType.Float64, generator: new Generator(41)) * 10).To(dtype);
            var src = (Tensor.Randn([srcShape[2], srcShape[1], srcShape[0]], DType.Float64, generator: new Generator(42)) * 10).To(dtype).Permute(2, 1, 0);
            var actual = self.IndexAdd(dim, Tensor.From(index, [index.Length]), src).To(DType.Float64).ToArray<double>();
            var expected = self.To(DType.Float64).ToArray<double>();
            var s = src.To(DType.Float64).Contiguous().ToArray<double>();
            for (int a = 0; a < srcShape[0]; a++)
                for (int b = 0; b < srcShape[1]; b++)
                    for (int c = 0; c < srcShape[2]; c++)
                    {
                        int[] at = [a, b, c];
                        at[dim] = (int)index[at[dim]];
                        double before = expected[(at[0] * shape[1] + at[1]) * shape[2] + at[2]];
                        double sum = before + s[(a * srcShape[1] + b) * srcShape[2] + c];
                        expected[(at[0] * shape[1] + at[1]) * shape[2] + at[2]] = dtype == DType.Float32 ? (float)((float)before + (float)s[(a * srcShape[1] + b) * srcShape[2] + c]) : sum;
                    }
            Assert.Equal(expected, actual);
        }
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => Tensor.Zeros(shape).IndexAdd(dim, L(shape[dim]), Tensor.Ones(srcShape.Select((n, d) => d == dim ? 1 : n).ToArray())));
        Assert.Contains("IndexAdd", bad.Message);
    }

    // Gather along contiguous rows, shared between threads, against the general strided walk (the
    // same values through a transposed view), and an index out of range in a later part still named.
    [Fact]
    public void Gather_AlongRows_BetweenThreads_EqualsTheStridedWalk()
    {
        var g = new Generator(44);
        var x = Tensor.Randn([700, 1000], generator: g);
        var index = Tensor.RandInt(0, 1000, [700, 600], generator: g);
        var viaWalk = x.T.Contiguous().T.Gather(1, index);
        Assert.Equal(viaWalk.ToArray<float>(), x.Gather(1, index).ToArray<float>());
        index[650, 3] = 1000L;
        var bad = Assert.Throws<ArgumentOutOfRangeException>(() => x.Gather(1, index));
        Assert.Contains("Gather", bad.Message);
        Assert.Contains("1000", bad.Message);
    }

    [Fact]
    public void Scatter_WritesSrcAtTheIndexAlongDim()
    {
        var self = Tensor.Zeros([3, 4], DType.Float64);
        var src = Tensor.Arange(1, 13, 1, DType.Float64).Reshape(3, 4);
        var index = Tensor.From(new long[] { 0, 1, 2, 1, 2, 0 }, [2, 3]);
        // src's leading [2, 3] block: out[index[r][j]][j] = src[r][j].
        Check.Values([1, 0, 7, 0, 5, 2, 0, 0, 0, 6, 3, 0], self.Scatter(0, index, src));
        Check.Values([1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 0, 0], self.Scatter(1, index, 1.0));
        Assert.Throws<ArgumentOutOfRangeException>(() => self.Scatter(0, index + 1, src));
        Assert.Throws<ArgumentException>(() => self.Scatter(0, index, src.Float()));
        Assert.Throws<ArgumentException>(() => self.Scatter(0, index, src.Narrow(1, 0, 2)));
    }

    [Fact]
    public void Scatter_GradientSkipsOverwrittenElements()
    {
        var self = In(3, 4);
        var src = Check.Input([2, 4], 9);
        var index = Tensor.From(new long[] { 2, 0, 1, 1, 0, 2, 2, 0 }, [2, 4]);   // distinct per column
        Check.Gradients(x => x[0].Scatter(0, index, x[1]), self, src);
        Check.Gradients(x => x[0].Scatter(-1, index.Narrow(1, 0, 2), 2.5), self);
        var a = Tensor.Zeros([3], DType.Float64, requiresGrad: true);
        a.Scatter(0, L(1), D(5.0)).Sum().Backward();
        Check.Values([1, 0, 1], a.Grad!);
    }

    // self [1, 2, 3, 4]; src [5, 6, 7, 8, 9, 10] to [0, 1, 0, 1, 2, 1]: 5 and 7 land on 0, 6, 8 and
    // 10 on 1, 9 on 2, nothing on 3.
    static readonly long[] Groups = [0, 1, 0, 1, 2, 1];

    [Theory]
    [InlineData(ScatterReduction.Sum, true, new double[] { 13, 26, 12, 4 })]
    [InlineData(ScatterReduction.Sum, false, new double[] { 12, 24, 9, 4 })]
    [InlineData(ScatterReduction.Prod, true, new double[] { 35, 960, 27, 4 })]
    [InlineData(ScatterReduction.Prod, false, new double[] { 35, 480, 9, 4 })]
    [InlineData(ScatterReduction.Mean, true, new double[] { 13.0 / 3, 6.5, 6, 4 })]
    [InlineData(ScatterReduction.Mean, false, new double[] { 6, 8, 9, 4 })]
    [InlineData(ScatterReduction.Amax, true, new double[] { 7, 10, 9, 4 })]
    [InlineData(ScatterReduction.Amax, false, new double[] { 7, 10, 9, 4 })]
    [InlineData(ScatterReduction.Amin, true, new double[] { 1, 2, 3, 4 })]
    [InlineData(ScatterReduction.Amin, false, new double[] { 5, 6, 9, 4 })]
    public void ScatterReduce_CombinesWhatLandsOnEachElement(ScatterReduction reduce, bool includeSelf, double[] expected)
    {
        var y = D(1, 2, 3, 4).ScatterReduce(0, L(Groups), D(5, 6, 7, 8, 9, 10), reduce, includeSelf);
        Check.Values(expected, y);
        var ints = Tensor.From(new long[] { 1, 2, 3, 4 }, [4]).ScatterReduce(0, L(Groups), Tensor.From(new long[] { 5, 6, 7, 8, 9, 10 }, [6]), reduce, includeSelf);
        Assert.Equal(expected.Select(Math.Floor).Select(v => (long)v), ints.ToArray<long>());
    }

    [Fact]
    public void ScatterReduce_IntegerMeanRoundsDown()
    {
        // (-1 - 2) / 2 = -1.5 rounds to -2, as PyTorch's floor division of integer means.
        var y = Tensor.From(new long[] { 0 }, [1]).ScatterReduce(0, L(0, 0), Tensor.From(new long[] { -1, -2 }, [2]), ScatterReduction.Mean, includeSelf: false);
        Assert.Equal(new long[] { -2 }, y.ToArray<long>());
    }

    [Fact]
    public void ScatterReduce_NaNWinsMaxAndMin()
    {
        var y = D(1, 2).ScatterReduce(0, L(0, 0, 1), D(double.NaN, 3, 0), ScatterReduction.Amax);
        Assert.True(double.IsNaN(y.ToArray<double>()[0]));
        Assert.Equal(2.0, y.ToArray<double>()[1]);
    }

    [Theory]
    [InlineData(ScatterReduction.Sum)]
    [InlineData(ScatterReduction.Prod)]
    [InlineData(ScatterReduction.Mean)]
    [InlineData(ScatterReduction.Amax)]
    [InlineData(ScatterReduction.Amin)]
    public void ScatterReduce_GradientsByFiniteDifferences(ScatterReduction reduce)
    {
        var index = Tensor.From(new long[] { 0, 2, 2, 0, 1, 2, 0, 0 }, [2, 4]);
        foreach (var includeSelf in new[] { true, false })
        {
            Check.Gradients(x => x[0].ScatterReduce(0, index, x[1], reduce, includeSelf), In(3, 4), Check.Input([2, 4], 21));
            // A larger src (only its leading block lands) and a dim written negative.
            Check.Gradients(x => x[0].ScatterReduce(-2, index, x[1], reduce, includeSelf), In(3, 4), Check.Input([3, 5], 22));
            // Twice: the backward is written in differentiable operations.
            Check.Gradients(x => Autograd.Grad(x[0].ScatterReduce(0, index, x[1], reduce, includeSelf).Square().Sum(), x[0], createGraph: true),
                In(3, 4), Check.Input([2, 4], 23));
        }
    }

    [Fact]
    public void ScatterReduce_ProdGradientIsTheProductOfTheOthersWithZeros()
    {
        // Element 0: self 0 with 3 and 5; element 1: self 2 with 0 and 0; element 2: self 4 with 0.
        var self = Leaf(0, 2, 4);
        var src = Leaf(3, 5, 0, 0, 0);
        var y = self.ScatterReduce(0, L(0, 0, 1, 1, 2), src, ScatterReduction.Prod);
        Check.Values([0, 0, 0], y);
        y.Sum().Backward();
        // d/dself0 = 3·5; d/dself1 = 0·0; d/dself2 = 0; d/dsrc: 0·5, 0·3, 2·0, 2·0, 4.
        Check.Values([15, 0, 0], self.Grad!);
        Check.Values([0, 0, 0, 0, 4], src.Grad!);
        Check.Gradients(x => x[0].ScatterReduce(0, L(0, 0, 1, 1, 2), x[1], ScatterReduction.Prod), Leaf(0, 2, 4), Leaf(3, 5, 0, 1.5, 0));
        // Twice: the gradient is written in differentiable operations.
        Check.Gradients(x => Autograd.Grad(x[0].ScatterReduce(0, L(0, 0, 1, 1, 2), x[1], ScatterReduction.Prod).Square().Sum(), x[1], createGraph: true),
            Leaf(0.5, 2, 4), Leaf(3, 5, 0, 1.5, -2));
    }

    [Fact]
    public void ScatterReduce_TiesShareTheGradientEvenly()
    {
        var self = Leaf(1, 0);
        var src = Leaf(1, 0.5, 1, -3);
        self.ScatterReduce(0, L(0, 0, 0, 1), src, ScatterReduction.Amax).Sum().Backward();
        // Element 0: self, src[0] and src[2] all reach 1, a third each; element 1: self's 0 beats -3.
        Check.Values([1.0 / 3, 1], self.Grad!);
        Check.Values([1.0 / 3, 0, 1.0 / 3, 0], src.Grad!);
    }

    [Fact]
    public void IndexCopy_WritesSlices()
    {
        var x = Tensor.Zeros([3, 2], DType.Float64);
        var y = x.IndexCopy(0, L(2, 0), Tensor.From(new double[] { 1, 2, 3, 4 }, [2, 2]));
        Check.Values([3, 4, 0, 0, 1, 2], y);
        Assert.Throws<ArgumentException>(() => x.IndexCopy(0, L(2, 0), Tensor.Ones([3, 2], DType.Float64)));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.IndexCopy(0, L(3, 0), Tensor.Ones([2, 2], DType.Float64)));
        Check.Gradients(t => t[0].IndexCopy(1, L(3, 0), t[1]), In(2, 4), Check.Input([2, 2], 5));
    }

    [Fact]
    public void IndexPut_WritesOrAccumulates()
    {
        var x = Tensor.Zeros([2, 3], DType.Float64);
        var rows = L(0, 1, 0);
        var cols = L(2, 0, 2);
        Check.Values([0, 0, 7, 5, 0, 0], x.IndexPut([rows.Narrow(0, 0, 2), cols.Narrow(0, 0, 2)], D(7, 5)));
        // Repeated positions add up when accumulating: (0, 2) receives 1 and 3.
        Check.Values([0, 0, 4, 2, 0, 0], x.IndexPut([rows, cols], D(1, 2, 3), accumulate: true));
        Check.Values([9, 9, 9, 0, 0, 0], x.IndexPut([Tensor.From(new[] { true, false }, [2])], D(9)));
        Assert.Throws<ArgumentException>(() => x.IndexPut([rows, cols], D(1, 2)));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.IndexPut([L(2)], D(1)));
        Check.Gradients(t => t[0].IndexPut([rows, cols], t[1], accumulate: true), In(2, 3), Check.Input([3], 4));
        Check.Gradients(t => t[0].IndexPut([L(1, 0)], t[1]), In(2, 3), Check.Input([3], 4));
    }

    [Fact]
    public void Take_ReadsTheFlattenedTensor()
    {
        var x = Tensor.Arange(0, 6, 1, DType.Float64).Reshape(2, 3);
        var y = x.Take(Tensor.From(new long[] { 0, 5, -1, 2 }, [2, 2]));
        Check.Shape([2, 2], y);
        Check.Values([0, 5, 5, 2], y);
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Take(L(6)));
        Check.Gradients(t => t[0].T.Take(L(0, 4, 4, -2)), In(2, 3));
    }

    [Fact]
    public void TakeAlongDim_BroadcastsOnTheOtherDims()
    {
        var x = Tensor.From(new double[] { 10, 30, 20, 60, 40, 50 }, [2, 3]);
        var argmax = Tensor.From(new long[] { 1, 0 }, [2, 1]);
        Check.Values([30, 60], x.TakeAlongDim(argmax, 1));
        // A [1, 2] index broadcasts over both rows.
        Check.Values([30, 10, 40, 60], x.TakeAlongDim(Tensor.From(new long[] { 1, 0 }, [1, 2]), 1));
        Check.Values([60, 10], x.TakeAlongDim(L(3, 0)));
        Assert.Throws<ArgumentException>(() => x.TakeAlongDim(L(0), 1));
        Check.Gradients(t => t[0].TakeAlongDim(Tensor.From(new long[] { 2, 0, 0 }, [1, 3]), 1), In(4, 3));
        Check.Gradients(t => t[0].TakeAlongDim(Tensor.From(new long[] { 1, 0, 1 }, [1, 3]), 0), In(2, 1));
    }

    [Fact]
    public void MaskedScatter_FillsMaskedElementsInOrder()
    {
        var x = Tensor.Zeros([2, 3], DType.Float64);
        var mask = Tensor.From(new[] { true, false, true, false, true, true }, [2, 3]);
        Check.Values([1, 0, 2, 0, 3, 4], x.MaskedScatter(mask, D(1, 2, 3, 4, 5)));
        // The mask broadcasts self: a row is repeated, then written.
        Check.Values([1, 7, 2, 7, 7, 7], D(7, 7, 7).MaskedScatter(Tensor.From(new[] { true, false, true, false, false, false }, [2, 3]), D(1, 2)));
        Assert.Throws<ArgumentException>(() => x.MaskedScatter(mask, D(1, 2)));
        Check.Gradients(t => t[0].MaskedScatter(mask, t[1]), In(2, 3), Check.Input([5], 6));
        Check.Gradients(t => t[0].MaskedScatter(mask, t[1]), In(3), Check.Input([2, 3], 6));
    }

    [Fact]
    public void InPlace_WritesAreRecordedAndCounted()
    {
        var a = In(3, 4);
        var src = Check.Input([2, 4], 8);
        var index = Tensor.From(new long[] { 0, 1, 2, 0, 2, 2, 0, 1 }, [2, 4]);
        var y = a * 2.0;
        int before = y.Storage.Version;
        Assert.Same(y, y.ScatterAdd_(0, index, src));
        Assert.Equal(before + 1, y.Storage.Version);
        Assert.Equal("ScatterAddBackward", y.GradFn!.Name);
        y.Sum().Backward();
        Check.Values(Enumerable.Repeat(2.0, 12).ToArray(), a.Grad!);
        Check.Values(Enumerable.Repeat(1.0, 8).ToArray(), src.Grad!);

        Check.Gradients(x => x[0].Clone().IndexAdd_(1, L(3, 0, 3), x[1]), In(2, 4), Check.Input([2, 3], 2));
        var mask = Tensor.From(new[] { true, false, false, true }, [4]);
        Check.Gradients(x => x[0].Clone().MaskedFill_(mask, -1), In(3, 4));
        Check.Gradients(x => x[0].Clone().Scatter_(0, index.Narrow(1, 0, 1), x[1]), In(3, 4), Check.Input([2, 1], 2));
        Check.Gradients(x => x[0].Clone().ScatterReduce_(0, index, x[1], ScatterReduction.Prod, includeSelf: false), In(3, 4), src);
        Check.Gradients(x => x[0].Clone().IndexCopy_(0, L(1), x[1]), In(3, 4), Check.Input([1, 4], 3));
        Check.Gradients(x => x[0].Clone().IndexPut_([L(0, 0)], x[1], accumulate: true), In(3, 4), Check.Input([4], 3));
        Check.Gradients(x => x[0].Clone().MaskedScatter_(mask, x[1]), In(3, 4), Check.Input([6], 3));
        Check.Gradients(x => x[0].Clone().IndexFill_(0, L(2), 4), In(3, 4));
    }

    [Fact]
    public void InPlace_RefusesLeavesAndStaleSavedValues()
    {
        var leaf = In(4);
        var mask = Tensor.From(new[] { true, false, false, true }, [4]);
        Assert.Throws<InvalidOperationException>(() => leaf.MaskedFill_(mask, 0));
        // A product saved y for its backward; writing y afterwards makes that backward refuse.
        var y = leaf * 1.0;
        var z = y * y;
        y.IndexAdd_(0, L(1), D(1.0));
        Assert.Throws<InvalidOperationException>(() => z.Sum().Backward());
        // Without autograd the write happens directly.
        var plain = D(1, 2, 3, 4);
        plain.MaskedFill_(mask, 0).ScatterAdd_(0, L(1), D(10.0));
        Check.Values([0, 12, 3, 0], plain);
        Assert.Throws<ArgumentException>(() => D(1, 2).MaskedFill_(Tensor.From(new[] { true, false }, [2, 1]), 0));
        // A refusal names the in-place operation called, not the out-of-place one it runs.
        Assert.StartsWith("ScatterAdd_: index 5", Assert.Throws<ArgumentOutOfRangeException>(() => D(1, 2).ScatterAdd_(0, L(5), D(1.0))).Message);
        Assert.StartsWith("IndexCopy_: ", Assert.Throws<ArgumentException>(() => D(1, 2).IndexCopy_(0, L(0), D(1.0).Float())).Message);
    }
}
