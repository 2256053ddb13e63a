namespace MetaGrad.Tests.Backends;

/// <summary>Whole-tensor sums and broadcast fills shared between threads, held to the one-thread results.</summary>
[Collection(ProcessWideState.Name)]   // sets the process-wide thread count
public class ThreadedReductionTests
{
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
