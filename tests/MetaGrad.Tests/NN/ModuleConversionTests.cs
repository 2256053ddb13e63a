using MetaGrad.NN;
using MetaGrad.NN.Utils;
using MetaGrad.Optim;

namespace MetaGrad.Tests.NN;

/// <summary>Module.To(dtype), Double(), Float(): PyTorch's in-place conversion of a module's floating state.</summary>
public class ModuleConversionTests
{
    static Sequential Net() => new(new Conv2d(1, 2, 3, generator: new Generator(1)), new BatchNorm2d(2), new ReLU(), new Flatten(),
        new Linear(2 * 4 * 4, 3, generator: new Generator(2)));

    [Fact]
    public void Double_ConvertsFloatingState_InPlace_KeepingTheObjects()
    {
        var net = Net();
        var x = Tensor.Randn([2, 1, 6, 6], generator: new Generator(3));
        var before = net.Call(x);
        var parameters = net.Parameters().ToList();
        var counter = net.GetBuffer("1.num_batches_tracked");

        Sequential same = net.Double();

        Assert.Same(net, same);
        Assert.Equal(parameters, net.Parameters(), ReferenceEqualityComparer.Instance);
        Assert.All(net.Parameters(), p => Assert.Equal(DType.Float64, p.DType));
        Assert.Equal(DType.Float64, net.GetBuffer("1.running_mean").DType);
        Assert.Equal(DType.Int64, net.GetBuffer("1.num_batches_tracked").DType);
        Assert.Same(counter, net.GetBuffer("1.num_batches_tracked"));
        Assert.Equal(1L, counter.Item<long>());
        // Same values, now computed in double (the running statistics moved once more by this call).
        net.Eval();
        var after = net.Call(x.Double());
        Assert.Equal(DType.Float64, after.DType);
        Assert.True(net.Float().Call(x).AllClose(after.Float(), 1e-5, 1e-5));
        Assert.True(before.Shape.SequenceEqual(after.Shape));
    }

    [Fact]
    public void Gradients_AreConverted_AndTraining_Continues()
    {
        var net = Net();
        var x = Tensor.Randn([4, 1, 6, 6], generator: new Generator(5));
        net.Call(x).Sum().Backward();
        var linear = (Linear)net[4];
        var grad = linear.Weight.Grad!.ToArray<float>();

        net.Double();

        Assert.Equal(DType.Float64, linear.Weight.Grad!.DType);
        Assert.Equal(grad.Select(g => (double)g), linear.Weight.Grad.ToArray<double>());
        var optimizer = new SGD(net.Parameters(), lr: 0.1);
        var w = linear.Weight.ToArray<double>();
        optimizer.Step();
        var moved = linear.Weight.ToArray<double>();
        for (int i = 0; i < w.Length; i++) Assert.Equal(w[i] - 0.1 * (double)grad[i], moved[i], 12);
    }

    [Fact]
    public void WeightNormedModules_Convert_TheirOriginalFollowing()
    {
        var m = WeightNorm.Apply(new Linear(3, 2, generator: new Generator(1)));
        var x = Tensor.Randn([2, 3], generator: new Generator(2));
        var y = m.Call(x);
        m.Double();
        var y64 = m.Call(x.Double());
        Assert.Equal(DType.Float64, y64.DType);
        Assert.True(y64.Float().AllClose(y, 1e-6, 1e-6));
        WeightNorm.Remove(m);
        Assert.Equal(DType.Float64, m.Weight.DType);
        Assert.True(m.Call(x.Double()).AllClose(y64, 1e-12, 1e-12));
    }

    [Fact]
    public void IntegerDTypes_AreRefused()
    {
        var error = Assert.Throws<ArgumentException>(() => Net().To(DType.Int64));
        Assert.Contains("Int64", error.Message);
        Assert.Contains("floating", error.Message);
    }
}
