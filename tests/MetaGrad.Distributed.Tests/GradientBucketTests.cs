namespace MetaGrad.Distributed.Tests;

public class GradientBucketTests
{
    [Fact]
    public void Assign_GoesBackwardsThroughTheParameters_ClosingEachBucketAtItsCap_OneDtypeEach()
    {
        Tensor[] parameters = [Tensor.Zeros(10), Tensor.Zeros(20), Tensor.Zeros([4], DType.Float64), Tensor.Zeros(30), Tensor.Zeros(5)];
        // Bytes: 40, 80, 32, 120, 20. From the last: 20 + 120 ≥ 64 closes the first bucket; the
        // float64 parameter opens its own; 80 + 40 stays under the later cap of 128 until the end.
        var buckets = GradientBucket.Assign(parameters, firstCapBytes: 64, capBytes: 128);
        Assert.Equal(3, buckets.Count);
        Assert.Equal([4, 3], buckets[0].Members);
        Assert.Equal([0, 5], buckets[0].Offsets);
        Assert.Equal(35, buckets[0].Length);
        Assert.Equal([2], buckets[1].Members);
        Assert.Equal(DType.Float64, buckets[1].DType);
        Assert.Equal([1, 0], buckets[2].Members);
        Assert.Equal([0, 20], buckets[2].Offsets);
        Assert.Equal(120, buckets[2].Bytes);
    }

    [Fact]
    public void Fill_DividesByTheWorldSize_AndUnpack_WritesBackIntoGrad()
    {
        var p = Tensor.Zeros(3).RequiresGrad_();
        var bucket = GradientBucket.Assign([p], 1 << 20, 1 << 20)[0];
        bucket.Fill(0, Tensor.From(new float[] { 2, 4, 6 }, [3]), 3, worldSize: 2);
        p.Grad = Tensor.From(new float[] { 9, 9, 9 }, [3]);
        var grad = p.Grad;
        bucket.Unpack(0, p);
        Assert.Same(grad, p.Grad);
        Assert.Equal([1f, 2f, 3f], p.Grad!.ToArray<float>());
    }
}
