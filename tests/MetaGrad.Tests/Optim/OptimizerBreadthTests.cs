using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim;

/// <summary>
/// Adamax, NAdam, RAdam, ASGD and Rprop: a first step worked by hand from PyTorch's update rules, resuming
/// from a state dict bit for bit, and the option checks.
/// </summary>
public class OptimizerBreadthTests
{
    static Tensor Param(params double[] values) => Tensor.From(values, [values.Length]).RequiresGrad_();

    static void StepWith(Optimizer optimizer, Tensor p, params double[] grad)
    {
        p.Grad = Tensor.From(grad, [grad.Length]);
        optimizer.Step();
    }

    [Fact]
    public void Adamax_FirstStepIsLrTimesTheSignOfTheGradient()
    {
        // m = 0.1·g, u = |g| + ε, clr = lr/0.1: θ - lr·g/(|g| + ε).
        var p = Param(1, -2);
        StepWith(new Adamax([p], lr: 0.5), p, 4, -0.25);
        Check.Values([1 - 0.5 * 4 / (4 + 1e-8), -2 + 0.5 * 0.25 / (0.25 + 1e-8)], p);
    }

    [Fact]
    public void NAdam_FirstStepMatchesItsFormula()
    {
        var p = Param(1);
        var nadam = new NAdam([p], lr: 0.1);
        StepWith(nadam, p, 2);
        double mu = 0.9 * (1 - 0.5 * Math.Pow(0.96, 0.004)), muNext = 0.9 * (1 - 0.5 * Math.Pow(0.96, 0.008));
        double denom = Math.Sqrt(0.001 * 4 / 0.001) + 1e-8;
        double expected = 1 - 0.1 * (1 - mu) / (1 - mu) * 2 / denom - 0.1 * muNext / (1 - mu * muNext) * (0.1 * 2) / denom;
        Check.Values([expected], p);
        Check.Values([mu], nadam.StateOf(p)["mu_product"]);
    }

    [Fact]
    public void RAdam_TakesMomentumStepsUntilTheSmaIsLongEnough()
    {
        // ρ∞ = 2/(1 - 0.999) - 1 = 1999 and ρ_1 = 1: the first step is θ - lr·m̂ = θ - lr·g.
        var p = Param(1);
        StepWith(new RAdam([p], lr: 0.1), p, 3);
        Check.Values([1 - 0.1 * 3], p);
    }

    [Fact]
    public void Rprop_GrowsWhileTheSignHoldsAndBacksOffWhenItFlips()
    {
        var p = Param(0);
        var rprop = new Rprop([p], lr: 0.1, etas: (0.5, 1.2), stepSizes: (0.01, 1));
        StepWith(rprop, p, 2);     // no previous gradient: factor 1, move 0.1 against the sign
        Check.Values([-0.1], p);
        StepWith(rprop, p, 3);     // same sign: 0.12
        Check.Values([-0.22], p, 1e-15);
        StepWith(rprop, p, -1);    // flipped: step size 0.06, no move, gradient forgotten
        Check.Values([-0.22], p, 1e-15);
        Check.Values([0.06], rprop.StateOf(p)["step_size"], 1e-15);
        Check.Values([0], rprop.StateOf(p)["prev"]);
        StepWith(rprop, p, -1);    // after a forgotten gradient: factor 1, move 0.06
        Check.Values([-0.16], p, 1e-15);
    }

    [Fact]
    public void ASGD_DecaysTheStepAndAveragesFromT0()
    {
        var p = Param(1);
        var asgd = new ASGD([p], lr: 0.1, lambd: 0.5, alpha: 1, t0: 1);
        StepWith(asgd, p, 2);   // θ·(1 - 0.5·0.1) - 0.1·2 = 0.75; ax = θ (μ = 1)
        Check.Values([0.75], p);
        Check.Values([0.75], asgd.StateOf(p)["ax"]);
        Check.Values([0.1 / (1 + 0.5 * 0.1)], asgd.StateOf(p)["eta"]);
        StepWith(asgd, p, 0);   // μ is 1 until t - t0 exceeds 1
        double eta = 0.1 / 1.05, theta = 0.75 * (1 - 0.5 * eta);
        Check.Values([theta], p);
        Check.Values([theta], asgd.StateOf(p)["ax"]);
        StepWith(asgd, p, 0);   // after step 3, μ = 1/(3 - t0) = 1/2: the average starts to lag
        Check.Values([1.0 / 2], asgd.StateOf(p)["mu"]);
    }

    public static TheoryData<string> Names => new() { "Adamax", "NAdam", "RAdam", "Rprop", "ASGD" };

    static Optimizer Make(string name, Tensor p) => name switch
    {
        "Adamax" => new Adamax([p], lr: 0.05, weightDecay: 0.1),
        "NAdam" => new NAdam([p], lr: 0.05, weightDecay: 0.1),
        "RAdam" => new RAdam([p], lr: 0.05, betas: (0.9, 0.9), weightDecay: 0.1),
        "ASGD" => new ASGD([p], lr: 0.05, lambd: 0.1, t0: 2, weightDecay: 0.1),
        _ => new Rprop([p], lr: 0.05, maximize: true),
    };

    [Theory, MemberData(nameof(Names))]
    public void StateDict_ResumesBitForBit(string name)
    {
        double[] Grad(int t) => [Math.Sin(t), Math.Cos(2 * t), t % 3 - 1];
        var straight = Param(0.5, -1, 2);
        var optimizer = Make(name, straight);
        for (int t = 1; t <= 8; t++) StepWith(optimizer, straight, Grad(t));

        var first = Param(0.5, -1, 2);
        var before = Make(name, first);
        for (int t = 1; t <= 4; t++) StepWith(before, first, Grad(t));
        var resumed = Param(first.ToArray<double>());
        var after = Make(name, resumed);
        after.LoadStateDict(before.StateDict());
        for (int t = 5; t <= 8; t++) StepWith(after, resumed, Grad(t));
        Assert.Equal(straight.ToArray<double>(), resumed.ToArray<double>());
    }

    [Fact]
    public void Options_AreChecked()
    {
        var p = Param(1);
        Assert.Throws<ArgumentException>(() => new Adamax([p], lr: -1));
        Assert.Throws<ArgumentException>(() => new NAdam([p], betas: (1.0, 0.9)));
        Assert.Throws<ArgumentException>(() => new RAdam([p], eps: -1));
        var e = Assert.Throws<ArgumentException>(() => new Rprop([p], etas: (1.5, 1.2)));
        Assert.Contains("Rprop", e.Message);
    }
}
