using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Tests;

/// <summary>
/// What each kind of kernel does with a narrow dtype: data movement keeps it, arithmetic runs
/// wide and rounds (or wraps) back, fused kernels refuse it by name. Values worked by hand, or
/// the same computation in Float32 rounded once.
/// </summary>
public class NarrowDTypeKernelTests
{
    static Tensor Halves(params float[] values) => Tensor.From(values).Half();

    static ushort[] HalfBits(Tensor t)
    {
        Assert.Equal(DType.Float16, t.DType);
        return t.ToArray<Half>().Select(BitConverter.HalfToUInt16Bits).ToArray();
    }

    [Theory]
    [InlineData(DType.Float16, 5000)]      // chunks of 2048 and a partial one, on one thread
    [InlineData(DType.Float16, 300001)]    // shared between threads
    [InlineData(DType.BFloat16, 5000)]
    [InlineData(DType.BFloat16, 300001)]
    public void ArithmeticOfTwoDenseOperands_ConvertedInChunks_EqualsFloat32RoundedOnce(DType dtype, int n)
    {
        var g = new Generator((ulong)n);
        var a = (Tensor.Randn([n], generator: g) * 100).To(dtype);
        var b = (Tensor.Randn([n], generator: g) * 3).To(dtype);
        var (af, bf) = (a.Float(), b.Float());
        foreach (var (result, expected) in new[] { (a + b, af + bf), (a - b, af - bf), (a * b, af * bf), (a / b, af / bf) })
        {
            Assert.Equal(dtype, result.DType);
            Assert.True(result.Float().Equal(expected.To(dtype).Float()) || AllNaNWhereExpected(result, expected.To(dtype)));
        }
    }

    // Equal bit for bit, NaN where the reference has NaN (0/0 is NaN in both; NaN != NaN for Equal).
    static bool AllNaNWhereExpected(Tensor result, Tensor expected)
    {
        var r = result.Float().ToArray<float>();
        var e = expected.Float().ToArray<float>();
        return r.Zip(e).All(p => p.First.Equals(p.Second));
    }

    [Fact]
    public void SelectionAndOrdering_KeepTheNarrowDType()
    {
        var x = Halves(3f, -1f, 2.5f, -1f);
        var (values, indices) = x.Sort();
        Assert.Equal(DType.Float16, values.DType);
        Assert.Equal(new double[] { -1, -1, 2.5, 3 }, values.ToArray<double>());
        Assert.Equal(new long[] { 1, 3, 2, 0 }, indices.ToArray<long>());
        var unique = Tensor.From(new sbyte[] { 5, -3, 5, 0 }).Unique().Values;
        Assert.Equal(new sbyte[] { -3, 0, 5 }, unique.ToArray<sbyte>());
        Assert.Equal(0L, x.ArgMax().Item<long>());
        var picked = Tensor.Where(x > 0.0, x, Tensor.Zeros([4], DType.Float16));
        Assert.Equal(new double[] { 3, 0, 2.5, 0 }, picked.ToArray<double>());
        Assert.Equal(DType.Float16, picked.DType);
    }

    [Fact]
    public void AccumulatingWrites_WrapOrRoundOnceInTheWideDType()
    {
        // 200 + 100 + 50 = 350, which wraps to 94 in uint8.
        var sums = Tensor.Zeros([1], DType.UInt8).ScatterAdd(0, Tensor.From(new[] { 0L, 0L, 0L }), Tensor.From(new byte[] { 200, 100, 50 }));
        Assert.Equal(new byte[] { 94 }, sums.ToArray<byte>());
        var h = Tensor.Zeros([2], DType.Float16);
        h.IndexPut_([Tensor.From(new[] { 1L, 1L, 1L })], Halves(0.1f, 0.1f, 0.1f), accumulate: true);
        // Three halves of 0.1 (0.0999755859375 each) summed in float and rounded once.
        Assert.Equal(HalfBits(Tensor.From(new[] { 0f, 3 * (float)(Half)0.1f }).Half()), HalfBits(h));
        Assert.Equal(new long[] { 0, 2, 0, 1 }, Tensor.From(new byte[] { 1, 1, 3 }).Bincount().ToArray<long>());   // uint8 bins, as PyTorch allows
        var u = Tensor.From(new byte[] { 250, 3 });
        u.Add_(Tensor.From(new byte[] { 10, 3 }));
        Assert.Equal(new byte[] { 4, 6 }, u.ToArray<byte>());
    }

    [Fact]
    public void Softmax_IsFloatSoftmaxRounded()
    {
        var x = Halves(0.5f, -1.25f, 2f, 0.1f);
        Assert.Equal(HalfBits(x.Float().Softmax(0).Half()), HalfBits(x.Softmax(0)));
        Assert.Equal(HalfBits(Tensor.Full([5], 0.1, DType.Float16).Float().Cumsum(0).Half()), HalfBits(Tensor.Full([5], 0.1, DType.Float16).Cumsum(0)));
        var counts = Tensor.From(new byte[] { 255, 255 }).Cumsum(0);
        Assert.Equal(DType.Int64, counts.DType);   // integer running sums give int64, as in PyTorch
        Assert.Equal(new long[] { 255, 510 }, counts.ToArray<long>());
    }

    [Fact]
    public void FusedAdam_OnHalfParameters_IsTheFloatStepRounded()
    {
        var p16 = Halves(0.5f, -1.25f, 2f).RequiresGrad_();
        p16.Grad = Halves(0.1f, -0.3f, 0.05f);
        var p32 = p16.Detach().Float().RequiresGrad_();
        p32.Grad = p16.Grad.Float();
        new Adam([p16], lr: 0.1).Step();
        new Adam([p32], lr: 0.1).Step();
        Assert.Equal(DType.Float16, p16.DType);
        Assert.Equal(HalfBits(p32.Detach().Half()), HalfBits(p16.Detach()));
    }

    [Fact]
    public void LayerNormInHalf_WorksByComposition_NearTheFloatResult()
    {
        var norm = new LayerNorm(4).Half();
        var x = Halves(0.5f, -1.25f, 2f, 0.1f).Reshape(1, 4).RequiresGrad_();
        var y = norm.Forward(x);
        Assert.Equal(DType.Float16, y.DType);
        var expected = new LayerNorm(4).Forward(x.Detach().Float()).ToArray<float>();
        var actual = y.ToArray<float>();
        for (int i = 0; i < 4; i++) Assert.True(Math.Abs(expected[i] - actual[i]) < 4e-3, $"element {i}: {actual[i]} vs {expected[i]}");
        y.Sum().Backward();
        Assert.Equal(DType.Float16, x.Grad!.DType);
    }

    [Fact]
    public void FusedLayers_RefuseHalf_SuggestingFloat()
    {
        var bn = Assert.Throws<NotSupportedException>(() => new BatchNorm2d(2).Half().Forward(Tensor.Ones([1, 2, 2, 2], DType.Float16)));
        Assert.Contains("BatchNorm", bn.Message);
        Assert.Contains("Float16", bn.Message);
        var lstm = Assert.Throws<NotSupportedException>(() => new LSTM(3, 2).BFloat16().Forward(Tensor.Ones([2, 1, 3], DType.BFloat16)));
        Assert.Contains("BFloat16", lstm.Message);
        Assert.Contains(".Float()", lstm.Message);
    }

    [Fact]
    public void FloatingOnlyKernels_NameTheSmallIntegerDType()
    {
        var e = Assert.Throws<ArgumentException>(() => Tensor.From(new byte[] { 1, 2 }).Reshape(1, 2).Quantile(0.5));
        Assert.Contains("UInt8", e.Message);
        Assert.Throws<ArgumentException>(() => Tensor.From(new short[] { 1, 2 }).Mean());
    }
}
