using MetaGrad.Optim;
using MetaGrad.IO;
using static MetaGrad.Tests.Optim.Schedulers.SchedulerTests;

namespace MetaGrad.Tests.Optim.Schedulers;

/// <summary>
/// ConstantLR, PolynomialLR, MultiplicativeLR, SequentialLR, ChainedScheduler and CyclicLR against
/// the closed forms of PyTorch's documentation and source, and their argument checks.
/// </summary>
public class SchedulerBreadthTests
{
    [Fact]
    public void ConstantLR_HoldsTheFactorUntilTotalIters()
    {
        var lrs = Sequence(new ConstantLR(Sgd(0.1), factor: 0.5, totalIters: 3), 6);
        Agree(e => e < 3 ? 0.05 : 0.1, lrs);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ConstantLR(Sgd(0.1), factor: 1.5));
    }

    [Fact]
    public void PolynomialLR_DecaysToZeroAndStays()
    {
        var lrs = Sequence(new PolynomialLR(Sgd(0.1), totalIters: 4, power: 2), 7);
        Agree(e => 0.1 * Math.Pow(1 - Math.Min(e, 4) / 4.0, 2), lrs);
    }

    [Fact]
    public void MultiplicativeLR_CompoundsTheFactors()
    {
        var lrs = Sequence(new MultiplicativeLR(Sgd(0.1), e => 1.0 / (e + 1)), 5);
        // lr_e = 0.1·Π_{k=1..e} 1/(k+1) = 0.1/(e+1)!
        Agree(e => 0.1 / Enumerable.Range(1, e + 1).Aggregate(1.0, (p, k) => p * k), lrs);
    }

    [Fact]
    public void SequentialLR_WarmUpThenCosine_IsTheClosedFormOfEach()
    {
        var sgd = Sgd(0.1);
        var scheduler = new SequentialLR(sgd, [new LinearLR(sgd, 0.1, 1.0, 4), new CosineAnnealingLR(sgd, tMax: 10)], [5]);
        var lrs = Sequence(scheduler, 15);
        Agree(e => e < 5 ? 0.1 * (0.1 + 0.9 * Math.Min(e, 4) / 4) : 0.1 * (1 + Math.Cos(Math.PI * (e - 5) / 10)) / 2, lrs, 1e-12);
    }

    [Fact]
    public void SequentialLR_RestartsTheNextSchedulerFromTheBaseLr()
    {
        // The milestone (2) comes before the warm-up ends: PyTorch's step(0) takes the exponential
        // schedule's closed form at epoch 0, the base lr, not the warm-up's current lr.
        var sgd = Sgd(0.1);
        var scheduler = new SequentialLR(sgd, [new LinearLR(sgd, 0.1, 1.0, 10), new ExponentialLR(sgd, 0.5)], [2]);
        Agree(e => e < 2 ? 0.1 * (0.1 + 0.09 * e) : 0.1 * Math.Pow(0.5, e - 2), Sequence(scheduler, 6));
        // MultiplicativeLR has no closed form: it restarts from the current lr.
        var sgd2 = Sgd(0.1);
        var chained = new SequentialLR(sgd2, [new ConstantLR(sgd2, 0.5, 10), new MultiplicativeLR(sgd2, _ => 0.5)], [2]);
        Agree(e => e < 2 ? 0.05 : 0.05 * Math.Pow(0.5, e - 2), Sequence(chained, 5));
    }

    [Fact]
    public void SequentialLR_ChecksItsArguments()
    {
        var sgd = Sgd(0.1);
        var e = Assert.Throws<ArgumentException>(() => new SequentialLR(sgd, [new StepLR(sgd, 2), new StepLR(sgd, 3)], [1, 2]));
        Assert.Contains("SequentialLR", e.Message);
        Assert.Throws<ArgumentException>(() => new SequentialLR(sgd, [new StepLR(Sgd(0.1), 2)], []));
        Assert.Throws<ArgumentException>(() => new ChainedScheduler([]));
        Assert.Throws<ArgumentException>(() => new ChainedScheduler([new StepLR(sgd, 2), new StepLR(Sgd(0.1), 2)]));
    }

    [Fact]
    public void ChainedScheduler_MultipliesTheSchedules()
    {
        var sgd = Sgd(1.0);
        var scheduler = new ChainedScheduler([new ConstantLR(sgd, 0.1, 2), new ExponentialLR(sgd, 0.9)]);
        Agree(e => (e < 2 ? 0.1 : 1.0) * Math.Pow(0.9, e), Sequence(scheduler, 6));
        Assert.Equal(6, scheduler.LastEpoch);
    }

    static double Triangle(double x, int up, int down)
    {
        // The position in the cycle, rising over up steps and falling over down.
        int cycle = up + down, at = (int)x % cycle;
        return at <= up ? at / (double)up : (cycle - at) / (double)down;
    }

    [Theory]
    [InlineData(CyclicMode.Triangular)]
    [InlineData(CyclicMode.Triangular2)]
    [InlineData(CyclicMode.ExpRange)]
    public void CyclicLR_ClimbsAndFallsWithItsAmplitudePolicy(CyclicMode mode)
    {
        var sgd = Sgd(5.0);
        var scheduler = new CyclicLR(sgd, baseLr: 0.1, maxLr: 1.1, stepSizeUp: 2, stepSizeDown: 3, mode: mode, gamma: 0.8);
        var lrs = Sequence(scheduler, 14);
        double Scale(int e) => mode switch
        {
            CyclicMode.Triangular => 1,
            CyclicMode.Triangular2 => Math.Pow(0.5, e / 5),
            _ => Math.Pow(0.8, e),
        };
        Agree(e => 0.1 + Triangle(e, 2, 3) * Scale(e), lrs, 1e-12);
        // The momentum mirrors the lr between 0.9 (at the base lr) and 0.8 (at the peak).
        Assert.Equal(0.9 - 0.1 * Triangle(14, 2, 3) * Scale(14), sgd.ParamGroups[0].Double("momentum"), 12);
    }

    [Fact]
    public void CyclicLR_CyclesAdamsBeta1AndRefusesAnOptimizerWithoutMomentum()
    {
        var adam = new Adam([Tensor.Zeros([1], requiresGrad: true)], lr: 1e-3, betas: (0.95, 0.99));
        var scheduler = new CyclicLR(adam, 0.001, 0.01, stepSizeUp: 2);
        scheduler.Step();
        Assert.Equal(0.85, adam.ParamGroups[0].Pair("betas").Item1, 12);
        Assert.Equal(0.99, adam.ParamGroups[0].Pair("betas").Item2);
        Assert.Equal(0.0055, adam.ParamGroups[0].Lr, 15);
        var adagrad = new Adagrad([Tensor.Zeros([1], requiresGrad: true)]);
        Assert.Throws<ArgumentException>(() => new CyclicLR(adagrad, 0.001, 0.01));
        Assert.NotNull(new CyclicLR(adagrad, 0.001, 0.01, cycleMomentum: false));
    }

    // A SequentialLR or ChainedScheduler resumed from a checkpoint continues as if never stopped:
    // its state dict carries the state of each scheduler it runs (PyTorch's _schedulers).
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Composite_Schedulers_ResumeFromTheirNestedStateDicts(bool sequential)
    {
        LRScheduler Build(SGD sgd) => sequential
            ? new SequentialLR(sgd, [new LinearLR(sgd, 0.1, 1.0, 4), new CosineAnnealingLR(sgd, tMax: 10)], [5])
            : new ChainedScheduler([new ConstantLR(sgd, 0.5, 3), new ExponentialLR(sgd, 0.9)]);
        var sgd = Sgd(0.1);
        var scheduler = Build(sgd);
        for (int i = 0; i < 7; i++) scheduler.Step();
        var saved = new Checkpoint().AddScheduler("scheduler", scheduler.StateDict()).SchedulerState("scheduler");
        Assert.Equal(2, saved.Schedulers!.Count);
        var expected = Enumerable.Range(0, 6).Select(_ => { scheduler.Step(); return sgd.ParamGroups[0].Lr; }).ToArray();

        var fresh = Sgd(0.1);
        var resumed = Build(fresh);
        fresh.ParamGroups[0].Lr = saved.LastLr[0];              // the optimizer's own state dict carries its lr
        resumed.LoadStateDict(saved);
        var actual = Enumerable.Range(0, 6).Select(_ => { resumed.Step(); return fresh.ParamGroups[0].Lr; }).ToArray();
        Assert.Equal(expected, actual);

        saved.Schedulers = null;
        Assert.Contains("holds no schedulers' states", Assert.Throws<ArgumentException>(() => { Build(Sgd(0.1)).LoadStateDict(saved); }).Message);
    }
}
