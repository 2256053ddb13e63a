using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim.Schedulers;

/// <summary>
/// Each epoch scheduler's lr sequence against the closed form in PyTorch's documentation; the
/// schedulers compute recursively, as PyTorch does, so the two agree to rounding.
/// </summary>
public class SchedulerTests
{
    internal static SGD Sgd(params double[] lrs) =>
        new(lrs.Select(lr => new ParamGroup([Tensor.Zeros([1], requiresGrad: true)]) { ["lr"] = lr }), momentum: 0.9);

    /// <summary>The lr of group <paramref name="group"/> at epochs 0..epochs (0 is after construction).</summary>
    internal static double[] Sequence(LRScheduler scheduler, int epochs, int group = 0)
    {
        var lrs = new List<double> { scheduler.GetLastLr()[group] };
        for (int e = 1; e <= epochs; e++)
        {
            scheduler.Optimizer.Step();
            scheduler.Step();
            Assert.Equal(scheduler.GetLastLr()[group], scheduler.Optimizer.ParamGroups[group].Lr);
            lrs.Add(scheduler.GetLastLr()[group]);
        }
        return lrs.ToArray();
    }

    internal static void Agree(Func<int, double> closedForm, double[] actual, double tolerance = 1e-13)
    {
        for (int e = 0; e < actual.Length; e++)
            Assert.True(Math.Abs(closedForm(e) - actual[e]) <= tolerance * Math.Abs(closedForm(e)) + 1e-16,
                $"epoch {e}: expected {closedForm(e):R}, got {actual[e]:R}");
    }

    [Fact]
    public void Construction_SetsInitialLr_AndLastEpochZero()
    {
        var sgd = Sgd(0.1, 0.2);
        var scheduler = new ExponentialLR(sgd, gamma: 0.5);
        Assert.Equal(0, scheduler.LastEpoch);
        Assert.Equal(new[] { 0.1, 0.2 }, scheduler.BaseLrs);
        Assert.Equal(0.1, sgd.ParamGroups[0].Double("initial_lr"));
        Assert.Equal(new[] { 0.1, 0.2 }, scheduler.GetLastLr());
    }

    [Fact]
    public void StepLR_DecaysEveryStepSizeEpochs()
    {
        var lrs = Sequence(new StepLR(Sgd(0.1), stepSize: 3, gamma: 0.1), 20);
        Agree(e => 0.1 * Math.Pow(0.1, e / 3), lrs);
        Assert.Equal(0.1, lrs[2]);
        Assert.Equal(0.1 * 0.1, lrs[3], 1e-17);
    }

    [Fact]
    public void MultiStepLR_DecaysAtMilestones_TwiceForARepeatedOne()
    {
        int[] milestones = [2, 5, 5, 9];
        var lrs = Sequence(new MultiStepLR(Sgd(0.5), milestones, gamma: 0.5), 20);
        Agree(e => 0.5 * Math.Pow(0.5, milestones.Count(m => m <= e)), lrs);
        Assert.Equal(new[] { 0.5, 0.5, 0.25, 0.25, 0.25, 0.0625 }, lrs[..6]);
    }

    [Fact]
    public void ExponentialLR_DecaysEveryEpoch()
    {
        Agree(e => 0.1 * Math.Pow(0.9, e), Sequence(new ExponentialLR(Sgd(0.1), gamma: 0.9), 20), 1e-12);
    }

    [Fact]
    public void LambdaLR_ScalesEachGroupsBaseLrByItsOwnFunction()
    {
        var scheduler = new LambdaLR(Sgd(0.1, 0.02), [e => 1.0 / (e + 1), e => Math.Pow(0.95, e)]);
        Agree(e => 0.1 / (e + 1), Sequence(scheduler, 10, group: 0));
        Assert.Equal(0.02 * Math.Pow(0.95, 10), scheduler.GetLastLr()[1], 1e-15);
    }

    [Fact]
    public void CosineAnnealingLR_FollowsTheClosedForm_OverThreeHalfPeriods()
    {
        const double baseLr = 0.1, etaMin = 0.001;
        var lrs = Sequence(new CosineAnnealingLR(Sgd(baseLr), tMax: 10, etaMin: etaMin), 30);
        Agree(e => etaMin + (baseLr - etaMin) * (1 + Math.Cos(Math.PI * e / 10)) / 2, lrs, 1e-12);
        Assert.Equal(etaMin, lrs[10], 1e-15);                 // the minimum at T_max
        Assert.Equal(baseLr, lrs[20], 1e-15);                 // and back up at 2·T_max
    }

    [Fact]
    public void CosineAnnealingLR_KnownValues()
    {
        // base 1, T_max 4, η_min 0: (1 + cos(πe/4))/2.
        var lrs = Sequence(new CosineAnnealingLR(Sgd(1.0), tMax: 4), 5);
        Agree(e => new[] { 1.0, 0.8535533905932737, 0.5, 0.14644660940672627, 0.0, 0.14644660940672627 }[e], lrs, 1e-14);
    }

    [Fact]
    public void CosineAnnealingLR_IsChainable_FollowingAnOutsideChangeOfLr()
    {
        // The recursive form scales the distance to η_min by the closed form's ratio, from whatever the lr is.
        const double etaMin = 0.01;
        var sgd = Sgd(0.1);
        var scheduler = new CosineAnnealingLR(sgd, tMax: 10, etaMin: etaMin);
        Sequence(scheduler, 3);
        sgd.ParamGroups[0].Lr = 0.05;
        scheduler.Step();
        double ratio = (1 + Math.Cos(Math.PI * 4 / 10)) / (1 + Math.Cos(Math.PI * 3 / 10));
        Assert.Equal(ratio * (0.05 - etaMin) + etaMin, sgd.ParamGroups[0].Lr, 1e-15);
    }

    [Fact]
    public void CosineAnnealingLR_ResumedWithLastEpoch_StartsFromTheClosedForm()
    {
        var sgd = Sgd(0.1);
        _ = new CosineAnnealingLR(sgd, tMax: 10);             // leaves initial_lr in the group
        sgd.ParamGroups[0].Lr = 0.1234;                       // whatever the run had reached
        var resumed = new CosineAnnealingLR(sgd, tMax: 10, lastEpoch: 4);
        Assert.Equal(5, resumed.LastEpoch);
        Assert.Equal(0.1 * (1 + Math.Cos(Math.PI * 5 / 10)) / 2, resumed.GetLastLr()[0], 1e-16);
    }

    [Fact]
    public void CosineAnnealingWarmRestarts_RestartsWithGrowingPeriods()
    {
        const double baseLr = 0.1, etaMin = 0.01;
        var lrs = Sequence(new CosineAnnealingWarmRestarts(Sgd(baseLr), t0: 3, tMult: 2, etaMin: etaMin), 24);
        // Periods of 3, 6, 12 epochs start at epochs 0, 3, 9 (and 21).
        static (double Cur, double Period) Position(int e) => e < 3 ? (e, 3) : e < 9 ? (e - 3, 6) : e < 21 ? (e - 9, 12) : (e - 21, 24);
        Agree(e => etaMin + (baseLr - etaMin) * (1 + Math.Cos(Math.PI * Position(e).Cur / Position(e).Period)) / 2, lrs, 1e-14);
        Assert.Equal(baseLr, lrs[9]);
    }

    [Fact]
    public void CosineAnnealingWarmRestarts_FixedPeriod_AndFractionalEpochs()
    {
        var lrs = Sequence(new CosineAnnealingWarmRestarts(Sgd(1.0), t0: 4), 12);
        Agree(e => (1 + Math.Cos(Math.PI * (e % 4) / 4)) / 2, lrs, 1e-14);

        var scheduler = new CosineAnnealingWarmRestarts(Sgd(1.0), t0: 3, tMult: 2);
        scheduler.Step(4.5);                                  // in the second period (epochs 3-9): T_cur 1.5 of 6
        Assert.Equal((1 + Math.Cos(Math.PI * 1.5 / 6)) / 2, scheduler.GetLastLr()[0], 1e-15);
        Assert.Equal(4, scheduler.LastEpoch);
        scheduler.Step(1.25);                                 // back into the first period
        Assert.Equal((1 + Math.Cos(Math.PI * 1.25 / 3)) / 2, scheduler.GetLastLr()[0], 1e-15);
        scheduler.Step();                                     // whole epochs continue from there: T_cur 2.25
        Assert.Equal((1 + Math.Cos(Math.PI * 2.25 / 3)) / 2, scheduler.GetLastLr()[0], 1e-15);
    }

    [Theory]
    [InlineData(0.25, 1.0, 4)]
    [InlineData(1.0, 0.1, 5)]
    [InlineData(0.5, 0.0, 3)]
    public void LinearLR_RampsThenHolds(double start, double end, int total)
    {
        var lrs = Sequence(new LinearLR(Sgd(0.1), start, end, total), 20);
        Agree(e => 0.1 * (start + (end - start) * Math.Min(total, e) / total), lrs, 1e-12);
    }

    [Fact]
    public void LinearLR_Defaults_ArePyTorchs()
    {
        var lrs = Sequence(new LinearLR(Sgd(0.3)), 6);
        Agree(e => 0.3 * (1.0 / 3 + (1 - 1.0 / 3) * Math.Min(5, e) / 5), lrs, 1e-12);
    }

    [Fact]
    public void NoamLR_WarmsUpLinearly_ThenDecaysAsInverseSquareRoot()
    {
        const int dModel = 16, warmup = 5;
        var lrs = Sequence(new NoamLR(Sgd(1.0), dModel, warmup, factor: 2), 20);
        Agree(e => 2 / Math.Sqrt(dModel) * Math.Min(1 / Math.Sqrt(Math.Max(e, 1)), Math.Max(e, 1) / Math.Pow(warmup, 1.5)), lrs);
        Assert.Equal(lrs[1], lrs[0]);                         // epoch 0 counts as step 1
        Assert.Equal(lrs.Max(), lrs[warmup]);                 // the peak ends the warm-up
        Assert.Equal(2 / Math.Sqrt(dModel) / Math.Sqrt(warmup), lrs[warmup], 1e-15);
    }

    [Fact]
    public void NoamLR_ScalesTheGroupsBaseLr()
    {
        var lrs = Sequence(new NoamLR(Sgd(0.5), dModel: 512, warmupSteps: 4000), 3);
        Assert.Equal(0.5 * NoamLR.Rate(3, 512, 4000), lrs[3], 1e-18);
    }
}
