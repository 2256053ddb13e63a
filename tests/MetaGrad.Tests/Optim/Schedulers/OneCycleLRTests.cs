using MetaGrad.Optim;
using static MetaGrad.Tests.Optim.Schedulers.SchedulerTests;

namespace MetaGrad.Tests.Optim.Schedulers;

/// <summary>
/// OneCycleLR against the policy as PyTorch documents it: phases that end at step pct·N - 1
/// (then 2·pct·N - 2 with three phases) and N - 1, annealing by half a cosine or a line between
/// maxLr/divFactor, maxLr and initial/finalDivFactor, with momentum moving the opposite way.
/// </summary>
public class OneCycleLRTests
{
    static double Cos(double start, double end, double pct) => end + (start - end) * (1 + Math.Cos(Math.PI * pct)) / 2;
    static double Line(double start, double end, double pct) => start + (end - start) * pct;

    // N = 20, pct 0.3: the rise ends at step 5.
    const double MaxLr = 1.0, Initial = MaxLr / 25, Min = Initial / 1e4;

    [Fact]
    public void TwoPhaseCos_RisesToMaxLr_ThenAnnealsToTheMinimum_WithInverseMomentum()
    {
        var sgd = Sgd(0.1);
        var scheduler = new OneCycleLR(sgd, MaxLr, totalSteps: 20);
        var momenta = new List<double> { sgd.ParamGroups[0].Double("momentum") };
        var lrs = new List<double> { scheduler.GetLastLr()[0] };
        for (int s = 1; s < 20; s++)
        {
            scheduler.Step();
            lrs.Add(scheduler.GetLastLr()[0]);
            momenta.Add(sgd.ParamGroups[0].Double("momentum"));
        }
        Agree(s => s <= 5 ? Cos(Initial, MaxLr, s / 5.0) : Cos(MaxLr, Min, (s - 5) / 14.0), lrs.ToArray());
        Agree(s => s <= 5 ? Cos(0.95, 0.85, s / 5.0) : Cos(0.85, 0.95, (s - 5) / 14.0), momenta.ToArray());
        Assert.Equal(Initial, lrs[0], 1e-16);
        Assert.Equal(MaxLr, lrs[5], 1e-15);
        Assert.Equal(Min, lrs[19], 1e-18);
        Assert.Equal(0.95, momenta[0], 1e-15);
        Assert.Equal(0.85, momenta[5], 1e-15);
        Assert.Equal(0.95, momenta[19], 1e-15);
        Assert.Equal(Initial, sgd.ParamGroups[0].Double("initial_lr"));
        Assert.Equal(Min, sgd.ParamGroups[0].Double("min_lr"));
    }

    [Fact]
    public void ThreePhaseLinear_ReturnsToTheInitialLr_BeforeAnnealing()
    {
        var scheduler = new OneCycleLR(Sgd(0.1), MaxLr, totalSteps: 20, annealStrategy: AnnealStrategy.Linear, threePhase: true);
        var lrs = Sequence(scheduler, 19);
        // Phases end at steps 5, 10 and 19.
        Agree(s => s <= 5 ? Line(Initial, MaxLr, s / 5.0) : s <= 10 ? Line(MaxLr, Initial, (s - 5) / 5.0) : Line(Initial, Min, (s - 10) / 9.0), lrs);
        Assert.Equal(Initial, lrs[10], 1e-16);
    }

    [Fact]
    public void Adam_CyclesBeta1_AndKeepsBeta2()
    {
        var adam = new Adam([Tensor.Zeros([1], requiresGrad: true)], betas: (0.9, 0.98));
        var scheduler = new OneCycleLR(adam, 0.01, epochs: 2, stepsPerEpoch: 5, baseMomentum: 0.8, maxMomentum: 0.9);
        Assert.Equal(10, scheduler.TotalSteps);
        Assert.Equal(0.9, adam.ParamGroups[0].Pair("betas").Item1, 1e-15);
        for (int s = 1; s <= 2; s++) scheduler.Step();        // the rise ends at step 0.3·10 - 1 = 2
        Assert.Equal(0.8, adam.ParamGroups[0].Pair("betas").Item1, 1e-15);
        Assert.Equal(0.98, adam.ParamGroups[0].Pair("betas").Item2);
        Assert.Equal(0.01, scheduler.GetLastLr()[0], 1e-17);
    }

    [Fact]
    public void PerGroupMaxLr_AndNoMomentumCycling()
    {
        var sgd = Sgd(0.1, 0.1);
        var scheduler = new OneCycleLR(sgd, [1.0, 0.5], totalSteps: 10, cycleMomentum: false, divFactor: 10);
        Assert.Equal(0.1, scheduler.GetLastLr()[0], 1e-15);
        Assert.Equal(0.05, scheduler.GetLastLr()[1], 1e-15);
        Assert.Equal(0.9, sgd.ParamGroups[0].Double("momentum"));
        Assert.False(sgd.ParamGroups[0].Has("max_momentum"));
    }

    [Fact]
    public void SteppingPastTheCycle_Throws()
    {
        var scheduler = new OneCycleLR(Sgd(0.1), MaxLr, totalSteps: 4);
        for (int s = 1; s <= 4; s++) scheduler.Step();        // PyTorch allows last_epoch to reach total_steps
        var ex = Assert.Throws<InvalidOperationException>(scheduler.Step);
        Assert.Equal("OneCycleLR: tried to step 5 times; the cycle has 4 total steps", ex.Message);
    }
}
