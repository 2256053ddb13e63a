using MetaGrad.Optim;
using static MetaGrad.Tests.Optim.Schedulers.SchedulerTests;

namespace MetaGrad.Tests.Optim.Schedulers;

/// <summary>ReduceLROnPlateau: patience, thresholds, cooldown, floors, and its state.</summary>
public class ReduceLROnPlateauTests
{
    static double[] Run(ReduceLROnPlateau scheduler, params double[] metrics) =>
        metrics.Select(m => { scheduler.Step(m); return scheduler.GetLastLr()[0]; }).ToArray();

    [Fact]
    public void CutsTheLr_AfterMoreThanPatienceEpochsWithoutImprovement()
    {
        var scheduler = new ReduceLROnPlateau(Sgd(0.1), patience: 2);
        Assert.Equal(new[] { 0.1 }, scheduler.GetLastLr());   // nothing changes at construction
        var lrs = Run(scheduler, 1.0, 0.9, 0.9, 0.9, 0.9, 0.85, 0.85, 0.85, 0.85);
        // 0.9 repeated: bad epochs 1, 2, 3 > patience → cut at the fifth metric; 0.85 improves, then 3 bad again.
        Assert.Equal(new[] { 0.1, 0.1, 0.1, 0.1, 0.01, 0.01, 0.01, 0.01, 0.001 }, lrs, new ToleranceComparer(1e-15));
        Assert.Equal(0.85, scheduler.Best);
    }

    [Fact]
    public void RelativeThreshold_IgnoresTinyImprovements()
    {
        var scheduler = new ReduceLROnPlateau(Sgd(1.0), patience: 1, threshold: 0.1);
        // Each metric is better than the last, but none beats the best by the 10% the threshold asks for.
        var lrs = Run(scheduler, 1.0, 0.95, 0.92, 0.91);
        Assert.Equal(new[] { 1.0, 1.0, 0.1, 0.1 }, lrs, new ToleranceComparer(1e-16));
        Assert.Equal(1.0, scheduler.Best);
    }

    [Fact]
    public void MaxMode_WithAbsoluteThreshold()
    {
        var scheduler = new ReduceLROnPlateau(Sgd(1.0), PlateauMode.Max, patience: 0, threshold: 0.1, thresholdMode: ThresholdMode.Abs);
        var lrs = Run(scheduler, 0.5, 0.65, 0.7, 0.85);
        // 0.65 beats 0.5 + 0.1; 0.7 does not beat 0.65 + 0.1 → cut; 0.85 does.
        Assert.Equal(new[] { 1.0, 1.0, 0.1, 0.1 }, lrs, new ToleranceComparer(1e-16));
        Assert.Equal(0.85, scheduler.Best);
    }

    [Fact]
    public void Cooldown_IgnoresBadEpochsAfterACut()
    {
        var scheduler = new ReduceLROnPlateau(Sgd(1.0), patience: 0, cooldown: 2, factor: 0.5);
        var lrs = Run(scheduler, 1, 1, 1, 1, 1, 1, 1, 1);
        Assert.Equal(new[] { 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125 }, lrs);
    }

    [Fact]
    public void MinLr_FloorsTheCut_AndCutsSmallerThanEpsAreSkipped()
    {
        var floored = new ReduceLROnPlateau(Sgd(0.1), patience: 0, factor: 0.5, minLr: 0.03);
        Assert.Equal(new[] { 0.1, 0.05, 0.03, 0.03 }, Run(floored, 1, 1, 1, 1), new ToleranceComparer(1e-17));

        var tiny = new ReduceLROnPlateau(Sgd(1e-9), patience: 0);
        Assert.Equal(new[] { 1e-9, 1e-9 }, Run(tiny, 1, 1));    // 1e-9 → 1e-10 changes less than eps = 1e-8

        var perGroup = new ReduceLROnPlateau(Sgd(1.0, 1.0), patience: 0, minLrs: [0.5, 0.01]);
        perGroup.Step(1);
        perGroup.Step(1);
        Assert.Equal(new[] { 0.5, 0.1 }, perGroup.GetLastLr());
    }

    [Fact]
    public void StateDict_ResumesTheCountdown()
    {
        var sgd = Sgd(1.0);
        var scheduler = new ReduceLROnPlateau(sgd, patience: 3, cooldown: 1);
        Run(scheduler, 1, 0.5, 0.6, 0.7);
        var saved = scheduler.StateDict();
        Assert.Equal(2, saved.Values["num_bad_epochs"]);
        var resumed = new ReduceLROnPlateau(sgd, patience: 3, cooldown: 1);
        resumed.LoadStateDict(saved);
        Assert.Equal((0.5, 2, 4), (resumed.Best, resumed.NumBadEpochs, resumed.LastEpoch));
        Assert.Equal(new[] { 1.0, 0.1 }, Run(resumed, 0.7, 0.7));
    }

    sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;
        public int GetHashCode(double obj) => 0;
    }
}
