using MetaGrad.NN;

namespace MetaGrad.Tests.NN;

/// <summary>
/// The dtype option of the modules that lacked one (BatchNorm, GroupNorm, InstanceNorm, Embedding,
/// Bilinear): parameters and buffers in that dtype, and in float64 their gradients match finite
/// differences (which float32 is too coarse for).
/// </summary>
public class ModuleDTypeTests
{
    [Fact]
    public void Float64Modules_HoldFloat64ParametersAndBuffers_AndFloat32StaysTheDefault()
    {
        Module[] modules = [new BatchNorm1d(3, dtype: DType.Float64), new BatchNorm2d(3, dtype: DType.Float64), new BatchNorm3d(3, dtype: DType.Float64),
            new GroupNorm(1, 3, dtype: DType.Float64), new InstanceNorm2d(3, affine: true, dtype: DType.Float64),
            new Embedding(5, 3, dtype: DType.Float64), new Bilinear(2, 3, 4, dtype: DType.Float64)];
        foreach (var module in modules)
            foreach (var (name, tensor) in module.StateDict())
                Assert.True(tensor.DType == DType.Float64 || name == "num_batches_tracked", $"{module.GetType().Name}.{name} is {tensor.DType}");
        Assert.All(new BatchNorm2d(3).StateDict().Where(p => p.Key != "num_batches_tracked"), p => Assert.Equal(DType.Float32, p.Value.DType));
        Assert.Equal(DType.Float32, new Embedding(5, 3).Weight.DType);
    }

    [Fact]
    public void Float64Gradients_MatchFiniteDifferences()
    {
        // The modules' inputs by finite differences (their parameters are fixed here).
        var bn = new BatchNorm2d(2, dtype: DType.Float64);
        using (Autograd.NoGrad()) { bn.Weight!.Fill_(1.5); bn.Bias!.Fill_(-0.25); }
        Check.Gradients(x => bn.Forward(x[0]), Check.Input([3, 2, 2, 2], 1));
        var gn = new GroupNorm(2, 4, dtype: DType.Float64);
        Check.Gradients(x => gn.Forward(x[0]), Check.Input([2, 4, 3], 2));
        var bilinear = new Bilinear(2, 3, 2, generator: new Generator(2), dtype: DType.Float64);
        Check.Gradients(x => bilinear.Forward(x[0], x[1]), Check.Input([4, 2], 4), Check.Input([4, 3], 5));
        // The embedding's weight gradient counts each row's lookups.
        var embedding = new Embedding(6, 3, generator: new Generator(1), dtype: DType.Float64);
        var ids = Tensor.From(new long[] { 1, 4, 1 }, [3]);
        var looked = embedding.Forward(ids);
        Assert.True(looked[0].AllClose(embedding.Weight[1], 0, 0));
        looked.Sum().Backward();
        Assert.Equal([0.0, 2, 0, 0, 1, 0], (embedding.Weight.Grad!.Sum(1) / 3).ToArray<double>());
    }
}
