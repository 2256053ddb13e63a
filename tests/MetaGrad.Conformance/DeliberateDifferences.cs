using torch = TorchSharp.torch;

namespace MetaGrad.Conformance;

/// <summary>
/// Where MetaGrad knowingly differs from libtorch, each difference shown against libtorch itself, so
/// that changing one fails here and the README's list is revisited with it.
/// </summary>
public class DeliberateDifferences
{
    static double[] Values(torch.Tensor t) => t.to_type(torch.ScalarType.Float64).contiguous().data<double>().ToArray();

    [Fact]
    public void Max_SplitsTheGradientAmongTiesAsAmax_NotAsMaxDim()
    {
        var x = Tensor.From(new double[] { 1, 3, 3 }, [3], requiresGrad: true);
        x.Max(0).Backward();

        var amaxInput = torch.tensor(new double[] { 1, 3, 3 }, requires_grad: true);
        amaxInput.amax([0L]).backward();
        var maxInput = torch.tensor(new double[] { 1, 3, 3 }, requires_grad: true);
        maxInput.max(0).values.backward();

        Assert.Equal([0, 0.5, 0.5], x.Grad!.ToArray<double>());
        Assert.Equal(Values(amaxInput.grad!), x.Grad!.ToArray<double>());
        Assert.NotEqual(Values(maxInput.grad!), x.Grad!.ToArray<double>());     // torch.max(dim) routes it all to one index
    }

    [Fact]
    public void AnIntegralNumber_JoinsATensorAsAPythonInt()
    {
        var ours = Tensor.From(new long[] { 1, 2 }, [2]) * 2.0;
        var asInt = torch.tensor(new long[] { 1, 2 }) * 2L;
        var asFloat = torch.tensor(new long[] { 1, 2 }) * 2.0;

        Assert.Equal(DType.Int64, ours.DType);
        Assert.Equal(torch.ScalarType.Int64, asInt.dtype);      // what MetaGrad matches
        Assert.Equal(torch.ScalarType.Float32, asFloat.dtype);  // what a C# 2.0 cannot say apart from 2
    }

    [Fact]
    public void Norm_IsExactWhereLibTorchsFloat32NormUnderflowsOrOverflows()
    {
        var tiny = Tensor.From(new float[] { 1e-25f, -2e-25f }, [2]).Norm();
        var huge = Tensor.From(new float[] { 1e25f, -3e25f }, [2]).Norm();

        Assert.Equal(Math.Sqrt(5) * 1e-25, tiny.Item<float>(), 1e-30);
        Assert.Equal(Math.Sqrt(10) * 1e25, huge.Item<float>(), 1e20);
        Assert.Equal(0f, torch.linalg.vector_norm(torch.tensor(new float[] { 1e-25f, -2e-25f })).item<float>());
        Assert.Equal(float.PositiveInfinity, torch.linalg.vector_norm(torch.tensor(new float[] { 1e25f, -3e25f })).item<float>());
    }

    [Fact]
    public void AnEmptyDimList_ReducesNothing_WhereLibTorchReducesEverything()
    {
        // Not decided yet (see the README): libtorch keeps a legacy rule in which dim=[] means all dims.
        var ours = Tensor.From(new double[] { 1, 2, 3 }, [3]).Sum(Array.Empty<int>());
        var theirs = torch.tensor(new double[] { 1, 2, 3 }).sum(Array.Empty<long>());

        Assert.Equal([3], ours.Shape);
        Assert.Empty(theirs.shape);
    }

    [Fact]
    public void TopK_AmongTiesPicksTheEarliestIndex()
    {
        // libtorch leaves the choice among tied values unspecified; MetaGrad's stable sort takes the first.
        var (_, indices) = Tensor.From(new double[] { 0, 5, 5, 5 }, [4]).TopK(2);
        Assert.Equal([1L, 2L], indices.ToArray<long>());
    }
}
