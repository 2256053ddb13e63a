using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>End to end: autograd's gradients, an optimizer and a scheduler fit a least-squares problem.</summary>
public class TrainingTests
{
    // y = X·w + b exactly, so the loss can go to (nearly) zero.
    static (Tensor X, Tensor Y) Data()
    {
        var g = new Generator(11);
        var x = Tensor.Randn([64, 3], generator: g);
        var y = x.Matmul(Tensor.From(new float[,] { { 1.5f }, { -2f }, { 0.5f } })) + 0.3;
        return (x, y);
    }

    static float Fit(Func<Tensor[], Optimizer> makeOptimizer, int steps, Func<Optimizer, LRScheduler>? makeScheduler = null)
    {
        var (x, y) = Data();
        var w = Tensor.Zeros([3, 1], requiresGrad: true);
        var b = Tensor.Zeros([1], requiresGrad: true);
        var optimizer = makeOptimizer([w, b]);
        var scheduler = makeScheduler?.Invoke(optimizer);
        float first = float.NaN, last = float.NaN;
        for (int step = 0; step < steps; step++)
        {
            optimizer.ZeroGrad();
            var loss = (x.Matmul(w) + b - y).Pow(2).Mean();
            loss.Backward();
            optimizer.Step();
            scheduler?.Step();
            last = loss.Item<float>();
            if (step == 0) first = last;
        }
        Assert.True(first > 4, $"the starting loss should be large, got {first}");
        return last;
    }

    [Fact]
    public void SGDWithMomentum_FitsLeastSquares()
    {
        float loss = Fit(ps => new SGD(ps, lr: 0.05, momentum: 0.9), 150);
        Assert.True(loss < 1e-6, $"final loss {loss}");
    }

    [Fact]
    public void Adam_FitsLeastSquares()
    {
        float loss = Fit(ps => new Adam(ps, lr: 0.05), 300);
        Assert.True(loss < 1e-4, $"final loss {loss}");
    }

    [Fact]
    public void AdamWWithOneCycle_FitsLeastSquares()
    {
        float loss = Fit(ps => new AdamW(ps, weightDecay: 1e-4), 200, o => new OneCycleLR(o, 0.2, totalSteps: 200));
        Assert.True(loss < 1e-3, $"final loss {loss}");
    }

    [Fact]
    public void RMSpropWithStepLR_FitsLeastSquares()
    {
        float loss = Fit(ps => new RMSprop(ps, lr: 0.05), 300, o => new StepLR(o, stepSize: 100, gamma: 0.3));
        Assert.True(loss < 1e-3, $"final loss {loss}");
    }
}
