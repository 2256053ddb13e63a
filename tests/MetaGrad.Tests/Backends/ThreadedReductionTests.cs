namespace MetaGrad.Tests.Backends;

/// <summary>Whole-tensor sums and broadcast fills shared between threads, held to the one-thread results.</summary>
[Collection(ProcessWideState.Name)]   // sets the process-wide thread count
public class ThreadedReductionTests
{
    // Sums and extremes over trailing dims of a contiguous tensor run row by row, rows split
    // between threads: each row as the strided walk sums it (same bits), on one or two threads,
    // NaN propagated by max and min (as torch.amax), integers too.
    [Theory]
    [InlineData(65536, 32)]
    [InlineData(3, 100_000)]
    [InlineData(4099, 7)]
    public void RowReductions_OnOneAndTwoThreads_EqualTheWalk(int rows, int length)
    {
        var x = Tensor.Randn([rows, length], generator: new Generator((ulong)(rows + length)));
        x[rows / 2, length - 1] = double.NaN;
        var strided = x.T.Contiguous().T;      // the same values through the strided walk
        var v = x.ToArray<float>();
        var rowSums = Enumerable.Range(0, rows).Select(r => v.Skip(r * length).Take(length).Sum(e => (double)e)).ToArray();
        foreach (var (name, f) in new (string, Func<Tensor, Tensor>)[]
                 { ("sum", t => t.Sum(1)), ("mean", t => t.Mean(1, keepDim: true)), ("max", t => t.Max(1)), ("min", t => t.Min([1])), ("max all", t => t.Max()) })
        {
            float[] one, two;
            using (ThreadScope.Of(1)) one = f(x).ToArray<float>();
            using (ThreadScope.Of(2)) two = f(x).ToArray<float>();
            Assert.Equal(one, two);
            if (name.StartsWith("max") || name == "min") Assert.Equal(f(strided).ToArray<float>(), one);
            else
                for (int i = 0; i < one.Length; i++)
                {
                    double expected = rowSums[i] / (name == "mean" ? length : 1);
                    Assert.True(double.IsNaN(expected) ? float.IsNaN(one[i]) : Math.Abs(one[i] - expected) <= 1e-5 + 1e-6 * Math.Abs(expected),
                        $"{name} row {i}: {one[i]} against {expected}");
                }
        }
        var whole = x.Max().Item<float>();
        Assert.True(float.IsNaN(whole));
        var counts = (x.Abs() * 100).To(DType.Int64);
        var c = counts.ToArray<long>();
        Assert.Equal(Enumerable.Range(0, rows).Select(r => c.Skip(r * length).Take(length).Max()).ToArray(), counts.Max(1).ToArray<long>());
        Assert.Equal(c.Min(), counts.Min().Item<long>());
    }

    // Per-channel sums over (0, 2, 3), as group and instance norms compose them: the channels shared
    // between threads, the same bits on one and two, against a sum in double.
    [Theory]
    [InlineData(32, 64, 32, 32)]
    [InlineData(3, 5, 7, 9)]
    public void ChannelSums_OverBatchAndPlane_MatchADoubleSum(int n, int c, int h, int w)
    {
        var x = Tensor.Randn([n, c, h, w], generator: new Generator((ulong)(n * c + h)));
        float[] one, two;
        using (ThreadScope.Of(1)) one = x.Sum([0, 2, 3]).ToArray<float>();
        using (ThreadScope.Of(2)) two = x.Sum([0, 2, 3]).ToArray<float>();
        Assert.Equal(one, two);
        var v = x.ToArray<float>();
        for (int ch = 0; ch < c; ch++)
        {
            double expected = 0;
            for (int s = 0; s < n; s++)
                for (int i = 0; i < h * w; i++) expected += v[(s * c + ch) * h * w + i];
            Assert.True(Math.Abs(one[ch] - expected) <= 1e-4 + 1e-5 * Math.Abs(expected), $"channel {ch}: {one[ch]} against {expected}");
        }
        Assert.Equal([1, c, 1, 1], x.Mean([0, 2, 3], keepDim: true).Shape.ToArray());
    }

    [Fact]
    public void Sum_OfALongTensor_HasTheSameBitsOnOneAndTwoThreads()
    {
        // 1M elements: past the size from which the chunks' sums are shared between threads.
        var x = Tensor.Randn([1 << 20], generator: new Generator(21));
        float one, two;
        using (ThreadScope.Of(1)) one = x.Sum().Item<float>();
        using (ThreadScope.Of(2)) two = x.Sum().Item<float>();
        Assert.Equal(BitConverter.SingleToInt32Bits(one), BitConverter.SingleToInt32Bits(two));
        double exact = x.ToArray<float>().Sum(v => (double)v);
        Assert.Equal(exact, two, 1e-3);
    }

    [Fact]
    public void Contiguous_OfAnExpandedScalar_HoldsTheValueEverywhere()
    {
        // The gradient of a sum arrives as one value expanded to the input's shape (strides all 0).
        var expanded = Tensor.Full([], 2.5).Expand([600, 700]);
        using (ThreadScope.Of(2))
        {
            var dense = expanded.Contiguous();
            Assert.True(dense.IsContiguous);
            Assert.All(dense.ToArray<float>(), v => Assert.Equal(2.5f, v));
            Assert.All(expanded.Exp().ToArray<float>(), v => Assert.Equal(MathF.Exp(2.5f), v));
        }
    }

    [Fact]
    public void SoftmaxAndLogSoftmax_OfManyRows_HaveTheSameBitsOnOneAndTwoThreads()
    {
        var x = Tensor.Randn([300, 1001], generator: new Generator(4)) * 5;   // past the parallel threshold, odd rows
        foreach (bool log in new[] { false, true })
        {
            Tensor one, two;
            using (ThreadScope.Of(1)) one = log ? x.LogSoftmax(-1) : x.Softmax(-1);
            using (ThreadScope.Of(2)) two = log ? x.LogSoftmax(-1) : x.Softmax(-1);
            Assert.True(one.Equal(two), log ? "log-softmax" : "softmax");
            if (!log) Assert.True(one.Sum(-1).AllClose(Tensor.Ones([300]), 1e-5, 1e-5));
            // The other dim goes through a transposed copy and back.
            using (ThreadScope.Of(1)) one = log ? x.LogSoftmax(0) : x.Softmax(0);
            using (ThreadScope.Of(2)) two = log ? x.LogSoftmax(0) : x.Softmax(0);
            Assert.True(one.Equal(two), (log ? "log-softmax" : "softmax") + " over dim 0");
        }
    }
}
