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
}
