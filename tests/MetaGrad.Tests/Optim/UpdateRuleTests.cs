using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>
/// Each update rule over several steps against its plain-double reference (ReferenceOptimizers.cs,
/// from the torch.optim pseudo-code), for many combinations of options, and a few first steps by hand.
/// </summary>
public class UpdateRuleTests
{
    static void MatchesReference(Func<Tensor, Optimizer> make, ReferenceOptimizer reference, int steps = 8)
    {
        var p = Tensor.From(OptimizerCases.Start, [2, 3], requiresGrad: true);
        var optimizer = make(p);
        var theta = OptimizerCases.Start.ToArray();
        for (int t = 1; t <= steps; t++)
        {
            OptimizerCases.SetGradient(p, t);
            optimizer.Step();
            reference.Step(theta, OptimizerCases.Gradient(theta, t));
            Check.Values(theta, p, tolerance: 1e-10);
        }
    }

    [Theory]
    [InlineData(0.1, 0.0, 0.0, 0.0, false, false)]
    [InlineData(0.1, 0.9, 0.0, 0.0, false, false)]
    [InlineData(0.05, 0.9, 0.3, 0.01, false, false)]
    [InlineData(0.05, 0.9, 0.0, 0.1, true, false)]
    [InlineData(0.1, 0.5, 0.1, 0.01, false, true)]
    [InlineData(0.1, 0.0, 0.0, 0.2, false, true)]
    public void SGD_MatchesReference(double lr, double momentum, double dampening, double weightDecay, bool nesterov, bool maximize) =>
        MatchesReference(p => new SGD([p], lr, momentum, dampening, weightDecay, nesterov, maximize),
            new ReferenceSGD(6, lr, momentum, dampening, weightDecay, nesterov, maximize));

    [Theory]
    [InlineData(0.01, 0.9, 0.999, 1e-8, 0.0, false, false)]
    [InlineData(0.05, 0.8, 0.99, 1e-6, 0.1, false, false)]
    [InlineData(0.05, 0.9, 0.999, 1e-8, 0.0, true, false)]
    [InlineData(0.02, 0.5, 0.9, 1e-3, 0.05, true, true)]
    public void Adam_MatchesReference(double lr, double beta1, double beta2, double eps, double weightDecay, bool amsgrad, bool maximize) =>
        MatchesReference(p => new Adam([p], lr, (beta1, beta2), eps, weightDecay, amsgrad, maximize),
            new ReferenceAdam(6, lr, beta1, beta2, eps, weightDecay, amsgrad, maximize, decoupled: false));

    [Theory]
    [InlineData(0.01, 0.01, false, false)]
    [InlineData(0.05, 0.5, true, false)]
    [InlineData(0.02, 0.1, false, true)]
    public void AdamW_MatchesReference(double lr, double weightDecay, bool amsgrad, bool maximize) =>
        MatchesReference(p => new AdamW([p], lr, (0.9, 0.99), 1e-8, weightDecay, amsgrad, maximize),
            new ReferenceAdam(6, lr, 0.9, 0.99, 1e-8, weightDecay, amsgrad, maximize, decoupled: true));

    [Theory]
    [InlineData(0.1, 0.0, 0.0, 0.0, 1e-10, false)]
    [InlineData(0.1, 0.05, 0.01, 0.1, 1e-10, false)]
    [InlineData(0.5, 0.0, 0.1, 0.5, 1e-3, true)]
    public void Adagrad_MatchesReference(double lr, double lrDecay, double weightDecay, double initial, double eps, bool maximize) =>
        MatchesReference(p => new Adagrad([p], lr, lrDecay, weightDecay, initial, eps, maximize),
            new ReferenceAdagrad(6, lr, lrDecay, weightDecay, initial, eps, maximize));

    [Theory]
    [InlineData(0.01, 0.99, 1e-8, 0.0, 0.0, false, false)]
    [InlineData(0.01, 0.9, 1e-8, 0.01, 0.9, false, false)]
    [InlineData(0.01, 0.9, 1e-6, 0.0, 0.0, true, false)]
    [InlineData(0.005, 0.8, 1e-8, 0.1, 0.5, true, true)]
    public void RMSprop_MatchesReference(double lr, double alpha, double eps, double weightDecay, double momentum, bool centered, bool maximize) =>
        MatchesReference(p => new RMSprop([p], lr, alpha, eps, weightDecay, momentum, centered, maximize),
            new ReferenceRMSprop(6, lr, alpha, eps, weightDecay, momentum, centered, maximize));

    [Theory]
    [InlineData(1.0, 0.9, 1e-6, 0.0, false)]
    [InlineData(0.5, 0.95, 1e-4, 0.1, false)]
    [InlineData(2.0, 0.5, 1e-6, 0.01, true)]
    public void Adadelta_MatchesReference(double lr, double rho, double eps, double weightDecay, bool maximize) =>
        MatchesReference(p => new Adadelta([p], lr, rho, eps, weightDecay, maximize),
            new ReferenceAdadelta(6, lr, rho, eps, weightDecay, maximize));

    [Theory]
    [MemberData(nameof(OptimizerCases.All), MemberType = typeof(OptimizerCases))]
    public void Float32Parameter_StaysFloat32_AndTracksTheReference(string name)
    {
        var p = Tensor.From(OptimizerCases.Start.Select(v => (float)v).ToArray(), [2, 3], requiresGrad: true);
        var optimizer = OptimizerCases.Make(name, p);
        var reference = OptimizerCases.Reference(name, 6);
        var theta = OptimizerCases.Start.ToArray();
        for (int t = 1; t <= 6; t++)
        {
            // Both sides see the gradient of the float32 weights, so only the update's rounding differs.
            var g = OptimizerCases.Gradient(p.ToArray<double>(), t);
            p.Grad = Tensor.From(g.Select(v => (float)v).ToArray(), [2, 3]);
            optimizer.Step();
            reference.Step(theta, g.Select(v => (double)(float)v).ToArray());
            Check.Values(theta, p, tolerance: 2e-5);
            theta = p.ToArray<double>();
        }
        Assert.Equal(DType.Float32, p.DType);
        foreach (var (key, buffer) in optimizer.StateOf(p))
            Assert.Equal(key == "step" ? DType.Float64 : DType.Float32, buffer.DType);
    }

    [Fact]
    public void SGD_Momentum_FirstTwoSteps_ByHand()
    {
        var p = Tensor.From(new double[] { 1, 2 }, [2], requiresGrad: true);
        var sgd = new SGD([p], lr: 0.1, momentum: 0.9);
        p.Grad = Tensor.From(new double[] { 0.5, -1 }, [2]);
        sgd.Step();                                           // b = g; θ = θ - 0.1·g
        Check.Values([0.95, 2.1], p);
        Check.Values([0.5, -1], sgd.StateOf(p)["momentum_buffer"]);
        sgd.Step();                                           // b = 0.9·b + g = [0.95, -1.9]
        Check.Values([0.855, 2.29], p);
    }

    [Fact]
    public void SGD_Nesterov_SecondStep_ByHand()
    {
        var p = Tensor.From(new double[] { 1 }, [1], requiresGrad: true);
        var sgd = new SGD([p], lr: 0.1, momentum: 0.5, nesterov: true);
        p.Grad = Tensor.From(new double[] { 2 }, [1]);
        sgd.Step();                                           // b = 2; step g + 0.5·b = 3
        Check.Values([0.7], p);
        sgd.Step();                                           // b = 0.5·2 + 2 = 3; step 2 + 1.5 = 3.5
        Check.Values([0.35], p);
    }

    [Fact]
    public void Adam_FirstStep_MovesEachWeightByAboutLr_ByHand()
    {
        // Bias correction makes m̂ = g and v̂ = g² on step 1, so the step is lr·g/(|g| + ε).
        var p = Tensor.From(new double[] { 1, 2 }, [2], requiresGrad: true);
        var adam = new Adam([p], lr: 0.1);
        p.Grad = Tensor.From(new double[] { 0.5, -1 }, [2]);
        adam.Step();
        Check.Values([1 - 0.1 * 0.5 / (0.5 + 1e-8), 2 + 0.1 * 1 / (1 + 1e-8)], p, tolerance: 1e-15);
    }

    [Fact]
    public void AdamW_DecaysWeights_WhereAdamsL2TermWouldMoveThemByLr()
    {
        var w = Tensor.From(new double[] { 2 }, [1], requiresGrad: true);
        var l2 = Tensor.From(new double[] { 2 }, [1], requiresGrad: true);
        var adamW = new AdamW([w], lr: 0.1, weightDecay: 0.5);
        var adam = new Adam([l2], lr: 0.1, weightDecay: 0.5);
        w.Grad = Tensor.Zeros([1], DType.Float64);
        l2.Grad = Tensor.Zeros([1], DType.Float64);
        adamW.Step();
        adam.Step();
        Check.Values([2 * (1 - 0.1 * 0.5)], w);               // shrunk; the zero gradient moves nothing
        Check.Values([2 - 0.1 * 1.0 / (1.0 + 1e-8)], l2);    // g = 0.5·θ = 1, normalised to a step of lr
    }

    [Fact]
    public void Adam_Amsgrad_KeepsTheLargestSecondMoment()
    {
        var p = Tensor.From(new double[] { 0 }, [1], requiresGrad: true);
        var adam = new Adam([p], lr: 0.01, betas: (0.9, 0.5), amsgrad: true);
        foreach (var g in new[] { 4.0, 0.1, 0.1 })
        {
            p.Grad = Tensor.From(new[] { g }, [1]);
            adam.Step();
        }
        var state = adam.StateOf(p);
        // v after the three steps: 8, then 4.005, then 2.0075; the maximum stays at 8.
        Check.Values([2.0075], state["exp_avg_sq"]);
        Check.Values([8.0], state["max_exp_avg_sq"]);
    }

    [Fact]
    public void Adagrad_LrDecay_ShrinksTheStep_ByHand()
    {
        // With a constant gradient 1: s = 1 + t, step t moves lr/(1 + (t-1)·decay) / √(1 + t).
        var p = Tensor.From(new double[] { 0 }, [1], requiresGrad: true);
        var adagrad = new Adagrad([p], lr: 1, lrDecay: 0.5, initialAccumulatorValue: 1, eps: 0);
        double expected = 0;
        for (int t = 1; t <= 3; t++)
        {
            p.Grad = Tensor.From(new double[] { 1 }, [1]);
            adagrad.Step();
            expected -= 1 / (1 + (t - 1) * 0.5) / Math.Sqrt(1 + t);
            Check.Values([expected], p, tolerance: 1e-15);
        }
    }

    [Fact]
    public void Adadelta_FirstStep_ByHand()
    {
        // v = 0.1·g², Δ = √ε/√(v + ε)·g with u = 0.
        var p = Tensor.From(new double[] { 1 }, [1], requiresGrad: true);
        var adadelta = new Adadelta([p]);
        p.Grad = Tensor.From(new double[] { 0.5 }, [1]);
        adadelta.Step();
        Check.Values([1 - Math.Sqrt(1e-6) / Math.Sqrt(0.025 + 1e-6) * 0.5], p, tolerance: 1e-15);
    }

    [Fact]
    public void RMSprop_FirstStep_ByHand()
    {
        // v = 0.01·g², so the step is lr·g/(0.1·|g| + ε), about 10·lr.
        var p = Tensor.From(new double[] { 1 }, [1], requiresGrad: true);
        var rmsprop = new RMSprop([p], lr: 0.01);
        p.Grad = Tensor.From(new double[] { -2 }, [1]);
        rmsprop.Step();
        Check.Values([1 + 0.01 * 2 / (Math.Sqrt(0.01 * 4) + 1e-8)], p, tolerance: 1e-15);
    }
}
