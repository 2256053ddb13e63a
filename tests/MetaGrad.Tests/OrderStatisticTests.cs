namespace MetaGrad.Tests;

/// <summary>
/// Any/All per dim, CountNonzero, Aminmax, Argsort, Median, Mode, Quantile, Unique, Bincount and
/// Histc: values worked by hand against PyTorch's documented rules, and gradients by finite differences.
/// </summary>
public class OrderStatisticTests
{
    // ArgMax and ArgMin along rows against the first-index definition: the first NaN where there is
    // one, the first of tied extremes, -0 and +0 equal (the first of either), infinities; rows with
    // tails, past the thread split, and rows along a dim followed by a size-1 dim.
    [Theory]
    [InlineData(7)]
    [InlineData(37)]
    [InlineData(1000)]
    public void ArgMaxAndArgMin_AlongRows_FirstIndexOfTheExtreme(int size)
    {
        int rows = 300_000 / size + 3;
        var g = new Generator((ulong)size + 70);
        var raw = (Tensor.Randn([rows, size], DType.Float64, generator: g) * 2).Round().ToArray<double>();
        for (int r = 0; r < rows; r++)
        {
            if (r % 5 == 0) raw[r * size + (r * 7) % size] = double.NaN;
            if (r % 7 == 1) { raw[r * size] = -0.0; for (int k = 1; k < size; k++) raw[r * size + k] = k % 3 == 0 ? 0.0 : -1.0; }
            if (r % 11 == 2) raw[r * size + size - 1] = double.PositiveInfinity;
            if (r % 13 == 3) raw[r * size + size / 2] = double.NegativeInfinity;
        }
        foreach (var dtype in new[] { DType.Float32, DType.Float64 })
        {
            var x = Tensor.From(raw, [rows, size]).To(dtype);
            foreach (bool max in new[] { true, false })
            {
                var actual = (max ? x.ArgMax(1) : x.ArgMin(1)).ToArray<long>();
                var viaUnit = (max ? x.Unsqueeze(-1).ArgMax(1) : x.Unsqueeze(-1).ArgMin(1)).ToArray<long>();
                for (int r = 0; r < rows; r++)
                {
                    int best = 0;
                    for (int k = 1; k < size && !double.IsNaN(raw[r * size + best]); k++)
                    {
                        double v = raw[r * size + k], b = raw[r * size + best];
                        if (double.IsNaN(v) || (max ? v > b : v < b)) best = k;
                    }
                    Assert.True(best == actual[r] && best == viaUnit[r], $"{dtype} {(max ? "ArgMax" : "ArgMin")} row {r}: {actual[r]} and {viaUnit[r]}, expected {best}");
                }
            }
        }
    }

    // Sort's and TopK's orders against a stable LINQ sort (NaN above every number, -0 equal to 0,
    // ties in their original order), ascending and descending, along an inner dim and the last,
    // for float32, float64 and int64 with many ties, the full sort and TopK's heap selection
    // (k under an eighth of the line), lines past the thread split.
    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void SortAndTopK_FollowTheStableOrder(int dim)
    {
        int[] shape = dim == 0 ? [300, 40] : [600, 300];
        var g = new Generator((ulong)dim + 60);
        var raw = (Tensor.Randn(shape, DType.Float64, generator: g) * 3).Round().ToArray<double>();
        for (int i = 0; i < raw.Length; i += 37) raw[i] = i % 2 == 0 ? double.NaN : -0.0;
        foreach (var dtype in new[] { DType.Float32, DType.Float64, DType.Int64 })
        {
            var values = dtype == DType.Int64 ? raw.Select(v => double.IsNaN(v) ? 7.0 : v).ToArray() : raw;
            var x = Tensor.From(values, shape).To(dtype);
            int size = shape[dim], lines = shape[1 - dim];
            foreach (bool descending in new[] { false, true })
            {
                var sorted = x.Sort(dim, descending).Indices.ToArray<long>();
                int k = size / 10;
                var top = x.TopK(k, dim, largest: descending).Indices.ToArray<long>();
                for (int line = 0; line < lines; line++)
                {
                    double At(int j) => dim == 0 ? values[j * shape[1] + line] : values[line * shape[1] + j];
                    double Key(int j) => double.IsNaN(At(j)) ? double.PositiveInfinity * 2 : At(j) == 0 ? 0 : At(j);
                    var order = Enumerable.Range(0, size);
                    var expected = (descending ? order.OrderByDescending(j => double.IsNaN(At(j)) ? 1 : 0).ThenByDescending(j => double.IsNaN(At(j)) ? 0 : Key(j))
                        : order.OrderBy(j => double.IsNaN(At(j)) ? 1 : 0).ThenBy(j => double.IsNaN(At(j)) ? 0 : Key(j))).ToArray();
                    for (int j = 0; j < size; j++)
                    {
                        long actual = dim == 0 ? sorted[j * shape[1] + line] : sorted[line * size + j];
                        Assert.True(expected[j] == actual, $"{dtype} sort {(descending ? "descending" : "ascending")} dim {dim}, line {line}, place {j}: {actual}, expected {expected[j]}");
                    }
                    for (int j = 0; j < k; j++)
                    {
                        long actual = dim == 0 ? top[j * shape[1] + line] : top[line * k + j];
                        Assert.True(expected[j] == actual, $"{dtype} topk {k} largest={descending} dim {dim}, line {line}, place {j}: {actual}, expected {expected[j]}");
                    }
                }
            }
        }
    }

    static Tensor D(double[] values, params int[] shape) => Tensor.From(values, shape, requiresGrad: true);

    [Fact]
    public void AnyAll_PerDim()
    {
        var x = Tensor.From(new double[] { 0, 1, 0, 0, double.NaN, 2 }, [2, 3]);
        Assert.Equal(new[] { false, true, true }, x.Any(0).ToArray<bool>());
        Assert.Equal(new[] { false, true, false }, x.All(0).ToArray<bool>());   // NaN is non-zero
        Assert.Equal(new[] { false, false }, x.All(-1).ToArray<bool>());
        Assert.Equal(new[] { true, true }, x.Any(-1).ToArray<bool>());
        Check.Shape([2, 1], x.Any(1, keepDim: true));
        Assert.Equal(DType.Bool, x.Any(1).DType);
        // Empty dims: any is false, all is true.
        var e = Tensor.Zeros(2, 0);
        Assert.Equal(new[] { false, false }, e.Any(1).ToArray<bool>());
        Assert.Equal(new[] { true, true }, e.All(1).ToArray<bool>());
        Assert.True(x.Any());   // the whole-tensor overloads still give a bool
        // Several dims at once: [2, 2, 2] with a single non-zero at [1, 0, 1].
        var cube = Tensor.Zeros([2, 2, 2], DType.Int64);
        cube[1, 0, 1] = Tensor.From(7L);
        Assert.Equal(new[] { false, true }, cube.Any([1, -1]).ToArray<bool>());
        Check.Shape([2, 1, 1], cube.All([2, 1], keepDim: true));
        Assert.Equal(new[] { true, false }, (cube == 0.0).All([1, 2]).ToArray<bool>());
        Assert.False(cube.All([0, 1, 2]).Item<bool>());
    }

    [Fact]
    public void CountNonzero_OverDims()
    {
        var x = Tensor.From(new double[] { 0, 1, 0, 3, 0, 2 }, [2, 3]);
        Assert.Equal(3L, x.CountNonzero().Item<long>());
        Assert.Equal(new long[] { 1, 1, 1 }, x.CountNonzero(0).ToArray<long>());
        Assert.Equal(new long[] { 1, 2 }, x.CountNonzero([-1]).ToArray<long>());
        Assert.Equal(DType.Int64, x.CountNonzero(0).DType);
    }

    [Fact]
    public void Aminmax_GivesBothExtremes()
    {
        var x = Tensor.From(new double[] { 3, -1, 2, 5 }, [2, 2]);
        var (lo, hi) = x.Aminmax();
        Check.Values([-1], lo);
        Check.Values([5], hi);
        var (l1, h1) = x.Aminmax(1, keepDim: true);
        Check.Values([-1, 2], l1);
        Check.Values([3, 5], h1);
        Check.Shape([2, 1], h1);
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(0, 2).Aminmax(0));
    }

    [Fact]
    public void Argsort_IsStable()
    {
        var x = Tensor.From(new double[] { 2, 1, 2, 0 }, [4]);
        Assert.Equal(new long[] { 3, 1, 0, 2 }, x.Argsort().ToArray<long>());
        Assert.Equal(new long[] { 0, 2, 1, 3 }, x.Argsort(descending: true).ToArray<long>());
    }

    [Fact]
    public void Median_IsTheLowerMedian()
    {
        var x = Tensor.From(new double[] { 4, 1, 3, 2 }, [4]);
        Check.Values([2], x.Median());
        var m = Tensor.From(new double[] { 5, 1, 3, 9, 7, 8 }, [2, 3]);
        var (v, i) = m.Median(1);
        Check.Values([3, 8], v);
        Assert.Equal(new long[] { 2, 2 }, i.ToArray<long>());
        var nan = Tensor.From(new double[] { 1, double.NaN, 0 }, [3]);
        Assert.True(double.IsNaN(nan.Median().Item<double>()));
        Assert.Equal(1L, nan.Median(0).Indices.Item<long>());
        Assert.True(double.IsNaN(Tensor.Zeros(0).Median().Item<float>()));
    }

    [Fact]
    public void Median_GradientOfAllIsSharedAmongEqualElements()
    {
        var x = D([1, 2, 2, 3, 2], 5);
        x.Median().Backward();
        Check.Values([0, 1 / 3.0, 1 / 3.0, 0, 1 / 3.0], x.Grad!);
        var y = D([1, 2, 2, 3], 4);
        y.Median(0).Values.Backward();
        Assert.Equal(1.0, y.Grad!.Sum().Item<double>());
        Check.Gradients(t => t[0].Median(1).Values, Check.Input(3, 5));
        Check.Gradients(t => t[0].Median(), Check.Input(3, 4));
    }

    [Fact]
    public void Mode_MostFrequentSmallestOnTiesLastIndex()
    {
        var x = Tensor.From(new double[] { 3, 1, 3, 1, 2 }, [5]);
        var (v, i) = x.Mode();
        Assert.Equal(1.0, v.Item<double>());
        Assert.Equal(3L, i.Item<long>());
        var (v2, i2) = Tensor.From(new long[] { 5, 5, 2, 7, 7, 7 }, [2, 3]).Mode(1);
        Assert.Equal(new long[] { 5, 7 }, v2.ToArray<long>());
        Assert.Equal(new long[] { 1, 2 }, i2.ToArray<long>());
        // The gradient of a line goes to the index given (finite differences would break the tie).
        var z = D([1, 2, 1, 0.5, 3, 3], 3, 2);
        z.Mode(0).Values.Sum().Backward();
        Check.Values([0, 0, 1, 1, 0, 0], z.Grad!);   // column 1 has no repeat: its smallest value, 0.5
    }

    [Fact]
    public void Quantile_Interpolations()
    {
        // Sorted [1, 2, 3, 4]; q = 0.4 has rank 1.2 between 2 and 3.
        var x = Tensor.From(new double[] { 3, 1, 4, 2 }, [4]);
        Check.Values([2.2], x.Quantile(0.4), 1e-12);
        Check.Values([2], x.Quantile(0.4, interpolation: QuantileInterpolation.Lower));
        Check.Values([3], x.Quantile(0.4, interpolation: QuantileInterpolation.Higher));
        Check.Values([2.5], x.Quantile(0.4, interpolation: QuantileInterpolation.Midpoint));
        Check.Values([2], x.Quantile(0.4, interpolation: QuantileInterpolation.Nearest));
        // rank 1.5 rounds half to even: 2, the value 3.
        Check.Values([3], x.Quantile(0.5, interpolation: QuantileInterpolation.Nearest));
        var m = Tensor.From(new double[] { 1, 2, 3, 10, 20, 30 }, [2, 3]);
        var q = Tensor.From(new double[] { 0, 0.5, 1 }, [3]);
        var y = m.Quantile(q, dim: 1, keepDim: true);
        Check.Shape([3, 2, 1], y);
        Check.Values([1, 10, 2, 20, 3, 30], y);
        Check.Shape([3, 1, 1], m.Quantile(q, keepDim: true));
        Check.Shape([0, 2], m.Quantile(Tensor.Zeros([0], DType.Float64), dim: -1));   // no q: an empty result
        Assert.True(double.IsNaN(Tensor.From(new double[] { 1, double.NaN }, [2]).Quantile(0.5).Item<double>()));
        Assert.Throws<ArgumentOutOfRangeException>(() => x.Quantile(1.5));
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(0).Quantile(0.5));
        Check.Gradients(t => t[0].Quantile(0.3, dim: 0), Check.Input(5, 2));
        Check.Gradients(t => t[0].Quantile(Tensor.From(new double[] { 0.25, 0.9 }, [2])), Check.Input(2, 3));
    }

    [Fact]
    public void Unique_SortedWithInverseAndCounts()
    {
        var x = Tensor.From(new long[] { 3, 1, 3, 2, 1, 3 }, [2, 3]);
        var (values, inverse, counts) = x.Unique(returnInverse: true, returnCounts: true);
        Assert.Equal(new long[] { 1, 2, 3 }, values.ToArray<long>());
        Assert.Equal(new long[] { 2, 0, 2, 1, 0, 2 }, inverse!.ToArray<long>());
        Check.Shape([2, 3], inverse);
        Assert.Equal(new long[] { 2, 1, 3 }, counts!.ToArray<long>());
        Assert.Null(x.Unique().Inverse);
        // Along dim 1 the columns [3, 2], [1, 1], [3, 3] become [1, 1], [3, 2], [3, 3] in lexicographic order.
        var (columns, where, often) = x.Unique(returnInverse: true, returnCounts: true, dim: 1);
        Assert.Equal(new long[] { 1, 3, 3, 1, 2, 3 }, columns.ToArray<long>());
        Assert.Equal(new long[] { 1, 0, 2 }, where!.ToArray<long>());
        Assert.Equal(new long[] { 1, 1, 1 }, often!.ToArray<long>());
        var (rows, _, rowCounts) = Tensor.From(new long[] { 1, 2, 0, 5, 1, 2 }, [3, 2]).Unique(returnCounts: true, dim: 0);
        Assert.Equal(new long[] { 0, 5, 1, 2 }, rows.ToArray<long>());
        Assert.Equal(new long[] { 1, 2 }, rowCounts!.ToArray<long>());
    }

    [Fact]
    public void Bincount_CountsAndWeights()
    {
        var x = Tensor.From(new long[] { 1, 3, 1, 0 }, [4]);
        Assert.Equal(new long[] { 1, 2, 0, 1 }, x.Bincount().ToArray<long>());
        Assert.Equal(6, x.Bincount(minlength: 6).Numel);
        var w = Tensor.From(new float[] { 0.5f, 1, 2, 4 }, [4]);
        var b = x.Bincount(w);
        Assert.Equal(DType.Float32, b.DType);
        Check.Values([4f, 2.5f, 0, 1], b);
        Assert.Equal(DType.Float64, x.Bincount(Tensor.From(new long[] { 1, 1, 1, 1 }, [4])).DType);
        Assert.Throws<ArgumentException>(() => Tensor.From(new long[] { -1 }, [1]).Bincount());
        Assert.Throws<ArgumentException>(() => Tensor.Zeros(3).Bincount());
    }

    [Fact]
    public void Histc_BinsOverTheRange()
    {
        // Bins of width 1 over [0, 4]: 4 itself counts in the last bin; -1 and 5 are left out.
        var x = Tensor.From(new double[] { 0, 0.5, 1, 3.9, 4, -1, 5 }, [7]);
        Check.Values([2, 1, 0, 2], x.Histc(4, 0, 4));
        // min == max: the data's range, here [1, 3].
        Check.Values([1, 0, 2], Tensor.From(new double[] { 1, 3, 3 }, [3]).Histc(3));
        Assert.Throws<ArgumentException>(() => Tensor.From(new long[] { 1 }, [1]).Histc());
    }
}
