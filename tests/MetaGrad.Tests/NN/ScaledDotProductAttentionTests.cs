using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

public class ScaledDotProductAttentionTests
{
    /// <summary>The definition, one query row at a time: blocked[i, j] drops key j for query i; bias is added.</summary>
    static double[] Reference(double[,] q, double[,] k, double[,] v, double scale, Func<int, int, bool>? allowed = null, double[,]? bias = null)
    {
        int l = q.GetLength(0), s = k.GetLength(0), e = q.GetLength(1), ev = v.GetLength(1);
        var output = new double[l * ev];
        for (int i = 0; i < l; i++)
        {
            var scores = new double[s];
            for (int j = 0; j < s; j++)
            {
                double dot = 0;
                for (int c = 0; c < e; c++) dot += q[i, c] * k[j, c];
                scores[j] = allowed is null || allowed(i, j) ? dot * scale + (bias?[i, j] ?? 0) : double.NegativeInfinity;
            }
            double max = scores.Max();
            if (double.IsNegativeInfinity(max)) continue;   // no key left: zeros
            var w = scores.Select(x => Math.Exp(x - max)).ToArray();
            double total = w.Sum();
            for (int j = 0; j < s; j++)
                for (int c = 0; c < ev; c++) output[i * ev + c] += w[j] / total * v[j, c];
        }
        return output;
    }

    static double[,] Matrix(Tensor t)
    {
        var a = t.ToArray<double>();
        var m = new double[t.Shape[0], t.Shape[1]];
        for (int i = 0; i < a.Length; i++) m[i / t.Shape[1], i % t.Shape[1]] = a[i];
        return m;
    }

    static (Tensor Q, Tensor K, Tensor V) Inputs(int l = 3, int s = 4, int e = 5, int ev = 2) =>
        (Check.Input([l, e], 1), Check.Input([s, e], 2), Check.Input([s, ev], 3));

    [Fact]
    public void Unmasked_MatchesTheLoopWithScaleOneOverRootE()
    {
        var (q, k, v) = Inputs();
        var y = Functional.ScaledDotProductAttention(q, k, v);
        Check.Shape([3, 2], y);
        Check.Values(Reference(Matrix(q), Matrix(k), Matrix(v), 1 / Math.Sqrt(5)), y);
    }

    [Fact]
    public void ExplicitScale_IsUsed()
    {
        var (q, k, v) = Inputs();
        Check.Values(Reference(Matrix(q), Matrix(k), Matrix(v), 0.7), Functional.ScaledDotProductAttention(q, k, v, scale: 0.7));
    }

    [Fact]
    public void Causal_LetsQueryISeeKeysUpToI()
    {
        var (q, k, v) = Inputs(l: 4, s: 4);
        Check.Values(Reference(Matrix(q), Matrix(k), Matrix(v), 1 / Math.Sqrt(5), (i, j) => j <= i),
            Functional.ScaledDotProductAttention(q, k, v, isCausal: true));
    }

    [Fact]
    public void Causal_WithFewerQueriesThanKeys_IsTheTopLeftTriangle()
    {
        var (q, k, v) = Inputs(l: 2, s: 4);
        Check.Values(Reference(Matrix(q), Matrix(k), Matrix(v), 1 / Math.Sqrt(5), (i, j) => j <= i),
            Functional.ScaledDotProductAttention(q, k, v, isCausal: true));
    }

    [Fact]
    public void BoolMask_TrueTakesPart_AndAnEmptyRowGivesZeros()
    {
        var (q, k, v) = Inputs();
        bool[,] allowed = { { true, false, true, true }, { false, false, false, false }, { false, true, false, false } };
        var mask = Tensor.From(allowed.Cast<bool>().ToArray(), [3, 4]);
        var y = Functional.ScaledDotProductAttention(q, k, v, mask);
        Check.Values(Reference(Matrix(q), Matrix(k), Matrix(v), 1 / Math.Sqrt(5), (i, j) => allowed[i, j]), y);
        Assert.All(y.ToArray<double>().Skip(2).Take(2), x => Assert.Equal(0.0, x));
    }

    [Fact]
    public void FloatMask_IsAddedToTheScores()
    {
        var (q, k, v) = Inputs();
        var bias = Check.Input([3, 4], 9).Detach();
        Check.Values(Reference(Matrix(q), Matrix(k), Matrix(v), 1 / Math.Sqrt(5), bias: Matrix(bias)),
            Functional.ScaledDotProductAttention(q, k, v, bias));
    }

    [Fact]
    public void BatchDims_BroadcastAndMaskBroadcasts()
    {
        var q = Check.Input([2, 3, 3, 5], 1);
        var k = Check.Input([2, 1, 4, 5], 2);
        var v = Check.Input([2, 1, 4, 6], 3);
        var mask = Tensor.From(new[] { true, true, false, true }, [4]);
        var y = Functional.ScaledDotProductAttention(q, k, v, mask);
        Check.Shape([2, 3, 3, 6], y);
        for (int b = 0; b < 2; b++)
            for (int h = 0; h < 3; h++)
                Check.Values(Reference(Matrix(q[b, h]), Matrix(k[b, 0]), Matrix(v[b, 0]), 1 / Math.Sqrt(5), (i, j) => j != 2), y[b, h]);
    }

    [Fact]
    public void Dropout_OfOne_ZeroesTheOutput()
    {
        var (q, k, v) = Inputs();
        Assert.All(Functional.ScaledDotProductAttention(q, k, v, dropoutP: 1).ToArray<double>(), x => Assert.Equal(0.0, x));
    }

    [Fact]
    public void MaskAndCausalTogether_Throw() =>
        Assert.Throws<ArgumentException>(() => Functional.ScaledDotProductAttention(Check.Input(2, 3), Check.Input(2, 3), Check.Input(2, 3),
            Tensor.Ones([2, 2], DType.Bool), isCausal: true));

    // The composed path's softmax is one node (PyTorch's safe softmax): a row of all -inf gives zeros
    // and no gradient, a row with a NaN stays NaN, the others are the plain softmax's, values and
    // gradients, in rows shorter and longer than a vector, float and double.
    [Theory]
    [InlineData(DType.Float64, 4)]
    [InlineData(DType.Float32, 4)]
    [InlineData(DType.Float32, 21)]
    public void SafeSoftmax_ZeroesRowsOfAllMinusInfinity_Only(DType dtype, int n)
    {
        var values = Tensor.Randn([4, n], DType.Float64, generator: new Generator(5)).ToArray<double>();
        for (int j = 0; j < n; j++) values[n + j] = double.NegativeInfinity;   // row 1: every position masked
        values[2 * n + 1] = double.NaN;                                       // row 2: a NaN
        values[3 * n] = double.NegativeInfinity;                              // row 3: one masked
        var x = Tensor.From(values, [4, n]).To(dtype).RequiresGrad_();
        var plain = Tensor.From(values, [4, n]).To(dtype).RequiresGrad_();
        var weights = Tensor.Randn([4, n], dtype, generator: new Generator(6));
        var y = Functional.SafeSoftmax(x);
        var expected = plain.Softmax(-1);
        (y * weights).Sum().Backward();
        (expected * weights).Sum().Backward();
        foreach (int r in new[] { 0, 3 })
        {
            Assert.True(y[r].AllClose(expected[r], 1e-6, 1e-7), $"row {r}");
            Assert.True(x.Grad![r].AllClose(plain.Grad![r], 1e-6, 1e-7), $"gradient of row {r}");
        }
        Assert.Equal(new double[n], y[1].To(DType.Float64).ToArray<double>());
        Assert.Equal(new double[n], x.Grad![1].To(DType.Float64).ToArray<double>());
        Assert.All(y[2].To(DType.Float64).ToArray<double>(), v => Assert.True(double.IsNaN(v)));
    }

    [Fact]
    public void Gradients_Unmasked() =>
        Check.Gradients(t => Functional.ScaledDotProductAttention(t[0], t[1], t[2]), Check.Input([2, 3, 4], 1), Check.Input([2, 5, 4], 2), Check.Input([2, 5, 3], 3));

    [Fact]
    public void Gradients_Causal() =>
        Check.Gradients(t => Functional.ScaledDotProductAttention(t[0], t[1], t[2], isCausal: true), Check.Input([2, 4, 3], 1), Check.Input([2, 4, 3], 2), Check.Input([2, 4, 2], 3));

    [Fact]
    public void Gradients_BoolMaskWithAnEmptyRow_AreFinite()
    {
        var mask = Tensor.From(new[] { true, false, true, false, false, false, false, true, true }, [3, 3]);
        Check.Gradients(t => Functional.ScaledDotProductAttention(t[0], t[1], t[2], mask), Check.Input([3, 4], 1), Check.Input([3, 4], 2), Check.Input([3, 2], 3));
    }

    [Fact]
    public void Gradients_FloatMask_IncludingTheMask() =>
        Check.Gradients(t => Functional.ScaledDotProductAttention(t[0], t[1], t[2], t[3], scale: 0.5),
            Check.Input([3, 4], 1), Check.Input([5, 4], 2), Check.Input([5, 2], 3), Check.Input([3, 5], 4));
}
