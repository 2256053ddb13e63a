namespace MetaGrad.Tests;

/// <summary>The signal data-parallel training starts an all-reduce from: a leaf's gradient is complete.</summary>
public class PostAccumulateGradHookTests
{
    [Fact]
    public void Hook_RunsOnceAfterEveryPathHasAdded()
    {
        var x = Tensor.From(3.0, requiresGrad: true);
        var seen = new List<double>();
        x.RegisterPostAccumulateGradHook(leaf => seen.Add(leaf.Grad!.Item<double>()));
        // x reaches the loss along three edges (x·x uses it twice, then 2x): d/dx (x² + 2x) = 2·3 + 2 = 8.
        (x * x + x * 2.0).Backward();
        Assert.Equal([8.0], seen);
    }

    [Fact]
    public void Hook_SeesTheSumWithEarlierGradients_AndRunsOncePerBackward()
    {
        var w = Tensor.From(new float[] { 1, 2 }, requiresGrad: true);
        var seen = new List<float[]>();
        w.RegisterPostAccumulateGradHook(leaf => seen.Add(leaf.Grad!.ToArray<float>()));
        (w * w).Sum().Backward();        // 2w = [2, 4]
        (w * 3f).Sum().Backward();       // + [3, 3]
        Assert.Equal([[2f, 4f], [5f, 7f]], seen);
    }

    [Fact]
    public void Hooks_RunInTheOrderBackwardCompletesTheLeaves()
    {
        // y = w2 · (w1 · x): backward reaches w2 before it reaches w1, as the last layer's gradient comes first.
        var w1 = Tensor.From(2.0, requiresGrad: true);
        var w2 = Tensor.From(5.0, requiresGrad: true);
        var order = new List<string>();
        w1.RegisterPostAccumulateGradHook(_ => order.Add("w1"));
        w2.RegisterPostAccumulateGradHook(_ => order.Add("w2"));
        (w2 * (w1 * Tensor.From(3.0))).Backward();
        Assert.Equal(["w2", "w1"], order);
        Assert.Equal(15.0, w1.Grad!.Item<double>());
        Assert.Equal(6.0, w2.Grad!.Item<double>());
    }

    [Fact]
    public void Hook_RemovedByDisposing_AndNotRunByAutogradGrad()
    {
        var x = Tensor.From(1.5, requiresGrad: true);
        int calls = 0;
        var handle = x.RegisterPostAccumulateGradHook(_ => calls++);
        Assert.Equal(3.0, Autograd.Grad(x * x, x).Item<double>());   // fills no Grad: no hook
        Assert.Equal(0, calls);
        (x * x).Backward();
        Assert.Equal(1, calls);
        handle.Dispose();
        (x * x).Backward();
        Assert.Equal(1, calls);
    }

    [Fact]
    public void Hook_OnANonLeafOrATensorWithoutGrad_IsRefused()
    {
        var x = Tensor.From(1.0, requiresGrad: true);
        var error = Assert.Throws<InvalidOperationException>(() => (x * 2.0).RegisterPostAccumulateGradHook(_ => { }));
        Assert.Contains("non-leaf", error.Message);
        Assert.Contains("MulBackward", error.Message);
        Assert.Throws<InvalidOperationException>(() => Tensor.From(1.0).RegisterPostAccumulateGradHook(_ => { }));
    }
}
