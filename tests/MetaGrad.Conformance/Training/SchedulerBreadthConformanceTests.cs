using MetaGrad.Optim;
using TorchSharp;
using static MetaGrad.Conformance.Training.SchedulerConformanceTests;
using Sched = TorchSharp.torch.optim.lr_scheduler;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// ConstantLR, PolynomialLR, MultiplicativeLR, SequentialLR, ChainedScheduler and CyclicLR against
/// TorchSharp's torch.optim.lr_scheduler: every group's lr (and CyclicLR's momentum) after
/// construction and after each step, as <see cref="SchedulerConformanceTests"/> does.
/// </summary>
public class SchedulerBreadthConformanceTests
{
    [Theory]
    [InlineData(0.5, 4)]
    [InlineData(1.0 / 3, 5)]   // the defaults
    public void ConstantLR(double factor, int total)
    {
        var (o, t) = Sgd(0.1, 0.02);
        var ours = new ConstantLR(o, factor, total);
        var theirs = Sched.ConstantLR(t, factor, total);
        AssertSameLrs($"ConstantLR({factor}, {total})", o, t, ours.Step, theirs.step, 10);
    }

    [Theory]
    [InlineData(6, 1.0)]
    [InlineData(4, 2.0)]
    [InlineData(5, 0.5)]
    public void PolynomialLR(int total, double power)
    {
        var (o, t) = Sgd(0.1);
        var ours = new PolynomialLR(o, total, power);
        var theirs = Sched.PolynomialLR(t, total, power);
        AssertSameLrs($"PolynomialLR({total}, {power})", o, t, ours.Step, theirs.step, 10);
    }

    [Fact]
    public void MultiplicativeLRWithOneFunctionPerGroup()
    {
        var (o, t) = Sgd(0.1, 0.02);
        Func<int, double> first = e => 0.95, second = e => 1.0 / (1 + 0.1 * e);
        var ours = new MultiplicativeLR(o, [first, second]);
        var theirs = new Sched.impl.MultiplicativeLR(t, new[] { first, second });
        AssertSameLrs("MultiplicativeLR", o, t, ours.Step, theirs.step, 15);
    }

    [Fact]
    public void SequentialLRWarmsUpLinearlyThenAnnealsAlongACosine()
    {
        // The warm-up ends at the base lr before the milestone, where PyTorch restarts the cosine
        // from its closed form at epoch 0 (the base lr) and TorchSharp from the current lr: the same here.
        var (o, t) = Sgd(0.1, 0.05);
        var ours = new SequentialLR(o, [new LinearLR(o, 0.1, 1.0, 3), new CosineAnnealingLR(o, tMax: 10, etaMin: 0.001)], [4]);
        var theirs = Sched.SequentialLR(t, [Sched.LinearLR(t, 0.1, 1.0, 3), Sched.CosineAnnealingLR(t, 10, 0.001)], [4]);
        AssertSameLrs("SequentialLR(LinearLR, CosineAnnealingLR)", o, t, ours.Step, theirs.step, 25);
    }

    [Fact]
    public void SequentialLRWithThreeSchedulers()
    {
        var (o, t) = Sgd(0.1);
        var ours = new SequentialLR(o, [new ConstantLR(o, 0.5, 2), new ExponentialLR(o, 0.9), new StepLR(o, 2, 0.5)], [3, 7]);
        var theirs = Sched.SequentialLR(t, [Sched.ConstantLR(t, 0.5, 2), Sched.ExponentialLR(t, 0.9), Sched.StepLR(t, 2, 0.5)], [3, 7]);
        AssertSameLrs("SequentialLR(ConstantLR, ExponentialLR, StepLR)", o, t, ours.Step, theirs.step, 15);
    }

    [Fact]
    public void ChainedSchedulerComposesTheSchedules()
    {
        var (o, t) = Sgd(0.1, 0.3);
        var ours = new ChainedScheduler([new ConstantLR(o, 0.1, 3), new ExponentialLR(o, 0.9)]);
        var theirs = Sched.ChainedLR([Sched.ConstantLR(t, 0.1, 3), Sched.ExponentialLR(t, 0.9)]);
        AssertSameLrs("ChainedScheduler(ConstantLR, ExponentialLR)", o, t, ours.Step, theirs.step, 10);
    }

    // TorchSharp 0.107's CyclicLR moves the momentum the wrong way (max + height, where PyTorch has
    // max - height) and scales exp_range per cycle (PyTorch: per iteration); see DIFFERENCES.md. So
    // exp_range is given to it as its own scale function per iteration, and the momentum PyTorch
    // would set is read off TorchSharp's lr, which it mirrors: m = max_m - (max_m - base_m)·(lr - base)/(max - base).
    [Theory]
    [InlineData(CyclicMode.Triangular, 3, 2, 1.0, true)]
    [InlineData(CyclicMode.Triangular2, 2, 4, 1.0, true)]
    [InlineData(CyclicMode.ExpRange, 3, 3, 0.9, true)]
    [InlineData(CyclicMode.Triangular, 4, 4, 1.0, false)]
    public void CyclicLRCyclesLrAndMomentum(CyclicMode mode, int up, int down, double gamma, bool cycleMomentum)
    {
        double[] baseLr = [0.01, 0.02], maxLr = [0.1, 0.3];
        const double BaseMomentum = 0.8, MaxMomentum = 0.9;
        var (o, t) = Sgd(0.1, 0.2);
        var ours = new CyclicLR(o, baseLr, maxLr, up, down, mode, gamma, cycleMomentum);
        var theirs = mode switch
        {
            CyclicMode.Triangular => Sched.CyclicLR(t, baseLr, maxLr, up, down, Sched.impl.CyclicLR.Mode.Triangular, cycle_momentum: cycleMomentum),
            CyclicMode.Triangular2 => Sched.CyclicLR(t, baseLr, maxLr, up, down, Sched.impl.CyclicLR.Mode.Triangular2, cycle_momentum: cycleMomentum),
            _ => Sched.CyclicLR(t, baseLr, maxLr, up, down, gamma: gamma, scale_fn: x => Math.Pow(gamma, x),
                scale_mode: Sched.impl.CyclicLR.ScaleMode.Iterations, cycle_momentum: cycleMomentum),
        };
        double[] PyTorchMomenta() => Lrs(t).Select((lr, i) => MaxMomentum - (MaxMomentum - BaseMomentum) * (lr - baseLr[i]) / (maxLr[i] - baseLr[i])).ToArray();
        double[] Constant() => [0.9, 0.9];   // SGD's momentum, untouched
        AssertSameLrs($"CyclicLR({mode}, {up}, {down}, {gamma}, momentum {cycleMomentum})", o, t, ours.Step, theirs.step, 24,
            () => Momenta(o), cycleMomentum ? PyTorchMomenta : Constant);
    }

    // A custom amplitude policy replaces the mode: given the cycle (from 1) or the iteration.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void CyclicLRWithAScaleFunction(bool perCycle)
    {
        double[] baseLr = [0.01, 0.02], maxLr = [0.1, 0.3];
        Func<double, double> scale = perCycle ? c => 1 / (1 + 0.5 * (c - 1)) : i => Math.Cos(i / 10.0);
        var (o, t) = Sgd(0.1, 0.2);
        var ours = new CyclicLR(o, baseLr, maxLr, 3, 2, cycleMomentum: false, scaleFn: scale,
            scaleMode: perCycle ? CyclicScaleMode.Cycle : CyclicScaleMode.Iterations);
        var theirs = Sched.CyclicLR(t, baseLr, maxLr, 3, 2, scale_fn: scale,
            scale_mode: perCycle ? Sched.impl.CyclicLR.ScaleMode.Cycle : Sched.impl.CyclicLR.ScaleMode.Iterations, cycle_momentum: false);
        AssertSameLrs($"CyclicLR(scaleFn per {(perCycle ? "cycle" : "iteration")})", o, t, ours.Step, theirs.step, 20);
    }
}
