using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>LBFGS: it minimises a quadratic, resumes from its state dict bit for bit, and refuses a step without a closure.</summary>
public class LbfgsTests
{
    static (Tensor W, LBFGS Optimizer, Func<Tensor> Closure) Problem()
    {
        var target = Tensor.From(new double[] { 1, -2, 3 }, [3]);
        var scales = Tensor.From(new double[] { 1, 10, 0.5 }, [3]);
        var w = Tensor.Zeros([3], DType.Float64).RequiresGrad_();
        var optimizer = new LBFGS([w], maxIter: 4, historySize: 2);
        Tensor Closure()
        {
            optimizer.ZeroGrad();
            var loss = ((w - target).Square() * scales).Sum() + w.Pow(4).Sum() * 1e-3;
            loss.Backward();
            return loss;
        }
        return (w, optimizer, Closure);
    }

    [Fact]
    public void Minimises_AnIllConditionedQuadratic()
    {
        var (w, optimizer, closure) = Problem();
        double first = optimizer.Step(closure)!.Item();
        for (int i = 0; i < 5; i++) optimizer.Step(closure);
        double last = closure().Item();
        // The quartic term keeps the minimum near 1e-3·(1 + 16 + 81) ≈ 0.093.
        Assert.True(first > 45 && last < 0.095, $"loss {first} -> {last}");
        Assert.True(w.AllClose(Tensor.From(new double[] { 1, -2, 3 }, [3]), 0, 0.1));
        Assert.True(optimizer.StateOf(w)["n_iter"].Item() > 6);
    }

    [Fact]
    public void StateDict_ResumesBitForBit()
    {
        var (straightW, straight, straightClosure) = Problem();
        for (int i = 0; i < 4; i++) straight.Step(straightClosure);

        var (w, first, firstClosure) = Problem();
        for (int i = 0; i < 2; i++) first.Step(firstClosure);
        var saved = first.StateDict();
        var (resumedW, resumed, resumedClosure) = Problem();
        using (Autograd.NoGrad()) resumedW.Copy_(w);
        resumed.LoadStateDict(saved);
        for (int i = 0; i < 2; i++) resumed.Step(resumedClosure);
        Assert.True(resumedW.AllClose(straightW, 0, 0));
        Assert.Equal(straight.StateOf(straightW)["old_dirs"].ToArray<double>(), resumed.StateOf(resumedW)["old_dirs"].ToArray<double>());
    }

    [Fact]
    public void StrongWolfe_SolvesRosenbrock()
    {
        // f(x, y) = (1 − x)² + 100·(y − x²)²: a curved valley a fixed step cannot follow.
        var xy = Tensor.From(new double[] { -1.5, 2 }, [2]).RequiresGrad_();
        var optimizer = new LBFGS([xy], maxIter: 20, strongWolfe: true);
        Tensor Closure()
        {
            optimizer.ZeroGrad();
            var (x, y) = (xy[0], xy[1]);
            var loss = (1 - x).Square() + 100 * (y - x.Square()).Square();
            loss.Backward();
            return loss;
        }
        for (int i = 0; i < 10; i++) optimizer.Step(Closure);
        Assert.True(xy.AllClose(Tensor.From(new double[] { 1, 1 }, [2]), 0, 1e-5), $"ended at {xy}");
        Assert.True(Closure().Item() < 1e-10);
    }

    [Fact]
    public void Step_NeedsAClosure()
    {
        var (_, optimizer, _) = Problem();
        Assert.Contains("closure", Assert.Throws<ArgumentException>(() => optimizer.Step()).Message);
    }
}
