namespace MetaGrad.Tests.Backends;

/// <summary>Vectorised sums held equal to the reference (a strided layout forces the scalar loop).</summary>
public class ReductionFastPathTests
{
    [Theory]
    [InlineData(5, 7)]
    [InlineData(64, 129)]
    [InlineData(3, 5000)]
    public void Sum_AlongEachDim_MatchesStridedLayout(int rows, int cols)
    {
        var x = Tensor.Randn([rows, cols], generator: new Generator((ulong)(rows + cols)));
        var strided = x.T.Contiguous().T;      // same values, column-major: no contiguous inner run
        Assert.False(strided.IsContiguous);
        foreach (var dims in new[] { new[] { 0 }, [1], [0, 1] })
            Assert.True(x.Sum(dims).AllClose(strided.Sum(dims), 1e-5, 1e-4), $"dims {string.Join(",", dims)}");
        Assert.True(x.Mean(1, keepDim: true).AllClose(strided.Mean(1, keepDim: true), 1e-5, 1e-6));
    }

    [Fact]
    public void SumOverRows_InPartsPerThread_MatchesADoubleSum()
    {
        // 700 × 401 is past the size from which each thread sums a share of the rows.
        const int rows = 700, cols = 401;
        var x = Tensor.Randn([rows, cols], generator: new Generator(9));
        var v = x.ToArray<float>();
        var expected = Enumerable.Range(0, cols).Select(c => Enumerable.Range(0, rows).Sum(r => (double)v[r * cols + c])).ToArray();
        Assert.True(x.Sum(0).To(DType.Float64).AllClose(Tensor.From(expected, [cols]), 1e-5, 1e-4));
        Assert.True(x.Unsqueeze(0).Sum([0, 1], keepDim: true).Reshape(cols).To(DType.Float64).AllClose(Tensor.From(expected, [cols]), 1e-5, 1e-4));
    }

    [Fact]
    public void Sum_OfAMillionFloats_KeepsItsDigits()
    {
        var x = Tensor.Full([1_000_000], 0.1);
        Assert.Equal(100000.0, x.Sum().Item<float>(), 0.5);   // a naive float32 running sum is off by about 1,000
    }
}

/// <summary>Block-copy and direct-draw paths held equal to the general ones.</summary>
public class IndexAndRandomFastPathTests
{
    [Fact]
    public void IndexSelect_RowsOfContiguous_EqualsStridedPath()
    {
        var x = Tensor.Randn([9, 3, 5], generator: new Generator(4));
        var idx = Tensor.From(new long[] { 8, 0, 3, 3 });
        var fast = x.IndexSelect(0, idx);
        var viaStrided = x.Permute(1, 0, 2).IndexSelect(1, idx).Permute(1, 0, 2);   // not dim 0: the per-slice path
        Assert.Equal(viaStrided.ToArray<float>(), fast.ToArray<float>());
    }

    [Fact]
    public void Uniform_DrawnInPlace_EqualsTheGeneralPath()
    {
        var direct = Tensor.Rand([5, 7], generator: new Generator(8));
        var general = Tensor.Zeros([7, 5]).T;                         // non-contiguous: values go through the copy path
        general.Uniform_(0, 1, new Generator(8));
        Assert.Equal(direct.ToArray<float>(), general.ToArray<float>());
    }
}

public class EmptyReductionTests
{
    [Fact]
    public void SumOfAnEmptyViewPastItsStoragesEnd_IsZero()
    {
        // Found by the conformance suite at 200 cases: the gradient of a [1] leaf expanded to [0]
        // is an empty view whose sum read a span past its storage (ArgumentOutOfRangeException).
        var leaf = Tensor.From(new[] { 0.0 }, requiresGrad: true);
        var a = Tensor.Zeros([0], DType.Float64, requiresGrad: true);
        var y = Tensor.Stack([a, leaf.Expand(0)], 0);
        var grads = Autograd.Grad([y], [a, leaf], [Tensor.Zeros([2, 0], DType.Float64)], allowUnused: true);
        Assert.Equal([0.0], grads[1]!.ToArray<double>());
        Assert.Equal(0.0, Tensor.Ones(3, 2)[.., 2..].Sum().Item<double>() + Tensor.Ones(3, 2)[3.., ..].Sum(0).Sum().Item<float>());
    }
}
