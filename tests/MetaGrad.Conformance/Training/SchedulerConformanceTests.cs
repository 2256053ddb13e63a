using MetaGrad.Optim;
using TorchSharp;
using static MetaGrad.Conformance.Interop.TorchBridge;
using ParamGroup = MetaGrad.Optim.ParamGroup;
using TorchOptimizer = TorchSharp.torch.optim.Optimizer;
using TS = TorchSharp.Modules;
using Sched = TorchSharp.torch.optim.lr_scheduler;

namespace MetaGrad.Conformance.Training;

/// <summary>
/// Learning-rate schedules of MetaGrad.Optim against TorchSharp's torch.optim.lr_scheduler: the lr
/// of every group (and, for OneCycleLR, the momentum or β1) after construction and after each step,
/// over one [1] parameter per group with SGD(lr 0.1, momentum 0.9) unless noted.
/// </summary>
public class SchedulerConformanceTests
{
    // The two libraries evaluate the same formulas, sometimes in another order (closed form
    // against recursive), so the last bit or two may differ.
    const double Rtol = 1e-13;

    /// <summary>SGD on both sides with one group per lr.</summary>
    internal static (Optimizer Ours, TorchOptimizer Theirs) Sgd(params double[] lrs)
    {
        var ours = new SGD(lrs.Select(lr => new ParamGroup([Tensor.Zeros([1], DType.Float64, requiresGrad: true)]) { ["lr"] = lr }), lr: lrs[0], momentum: 0.9);
        var theirs = torch.optim.SGD(lrs.Select(lr => new TS.SGD.ParamGroup([new TS.Parameter(torch.zeros(1))], new TS.SGD.Options { LearningRate = lr })), lrs[0], momentum: 0.9);
        return (ours, theirs);
    }

    internal static double[] Lrs(Optimizer o) => o.ParamGroups.Select(g => g.Lr).ToArray();
    internal static double[] Lrs(TorchOptimizer o) => o.ParamGroups.Select(g => g.LearningRate).ToArray();

    /// <summary>Steps both schedules <paramref name="steps"/> times, comparing every group's lr after construction and each step.</summary>
    internal static void AssertSameLrs(string what, Optimizer ours, TorchOptimizer theirs, Action stepOurs, Action stepTheirs, int steps,
        Func<double[]>? ourExtra = null, Func<double[]>? theirExtra = null)
    {
        for (int s = 0; s <= steps; s++)
        {
            if (s > 0) { stepOurs(); stepTheirs(); }
            AssertClose(Lrs(theirs), Lrs(ours), Rtol, 0, $"{what}: lr after {s} steps");
            if (ourExtra is not null) AssertClose(theirExtra!(), ourExtra(), Rtol, 0, $"{what}: momentum after {s} steps");
        }
    }

    [Fact]
    public void StepLR()
    {
        var (o, t) = Sgd(0.1);
        var ours = new StepLR(o, stepSize: 3, gamma: 0.1);
        var theirs = Sched.StepLR(t, 3, 0.1);
        AssertSameLrs("StepLR", o, t, ours.Step, theirs.step, 30);
    }

    [Fact]
    public void MultiStepLR()
    {
        // Distinct milestones: TorchSharp counts a repeated milestone once, PyTorch as often as it
        // appears (see DIFFERENCES.md).
        var (o, t) = Sgd(0.5);
        var ours = new MultiStepLR(o, [2, 5, 9], gamma: 0.5);
        var theirs = Sched.MultiStepLR(t, [2, 5, 9], 0.5);
        AssertSameLrs("MultiStepLR", o, t, ours.Step, theirs.step, 20);
    }

    [Fact]
    public void ExponentialLR()
    {
        var (o, t) = Sgd(0.1);
        var ours = new ExponentialLR(o, gamma: 0.9);
        var theirs = Sched.ExponentialLR(t, 0.9);
        AssertSameLrs("ExponentialLR", o, t, ours.Step, theirs.step, 30);
    }

    [Fact]
    public void LambdaLRWithOneFunctionPerGroup()
    {
        var (o, t) = Sgd(0.1, 0.02);
        Func<int, double> first = e => 1.0 / (e + 1), second = e => Math.Pow(0.95, e);
        var ours = new LambdaLR(o, [first, second]);
        var theirs = new Sched.impl.LambdaLR(t, [first, second]);
        AssertSameLrs("LambdaLR", o, t, ours.Step, theirs.step, 20);
    }

    [Fact]
    public void CosineAnnealingLRThroughTheMinimumAndBackUp()
    {
        var (o, t) = Sgd(0.1);
        var ours = new CosineAnnealingLR(o, tMax: 10, etaMin: 0.001);
        var theirs = Sched.CosineAnnealingLR(t, 10, 0.001);
        AssertSameLrs("CosineAnnealingLR", o, t, ours.Step, theirs.step, 30);
    }

    [Fact]
    public void CosineAnnealingLRFollowsAnLrSetByHand()
    {
        // The recursive (chainable) form continues from whatever lr the group holds.
        var (o, t) = Sgd(0.1);
        var ours = new CosineAnnealingLR(o, tMax: 10, etaMin: 0.01);
        var theirs = Sched.CosineAnnealingLR(t, 10, 0.01);
        AssertSameLrs("CosineAnnealingLR", o, t, ours.Step, theirs.step, 3);
        o.ParamGroups[0].Lr = 0.05;
        t.ParamGroups.First().LearningRate = 0.05;
        AssertSameLrs("CosineAnnealingLR after lr 0.05", o, t, ours.Step, theirs.step, 8);
    }

    [Fact]
    public void CosineAnnealingLRResumedAtEpoch4StartsFromTheClosedFormAt5()
    {
        var (o, t) = Sgd(0.1);
        var ours = new CosineAnnealingLR(o, tMax: 10, etaMin: 0.001);
        var theirs = Sched.CosineAnnealingLR(t, 10, 0.001);
        AssertSameLrs("CosineAnnealingLR", o, t, ours.Step, theirs.step, 4);
        // A second scheduler resuming after epoch 4, as after loading a checkpoint.
        var resumedOurs = new CosineAnnealingLR(o, tMax: 10, etaMin: 0.001, lastEpoch: 4);
        var resumedTheirs = Sched.CosineAnnealingLR(t, 10, 0.001, last_epoch: 4);
        AssertClose([0.001 + (0.1 - 0.001) * (1 + Math.Cos(Math.PI * 5 / 10)) / 2], Lrs(o), Rtol, 0, "resumed lr");
        AssertSameLrs("CosineAnnealingLR resumed", o, t, resumedOurs.Step, resumedTheirs.step, 10);
    }

    [Theory]
    [InlineData(0.25, 1.0, 4)]
    [InlineData(1.0, 0.1, 5)]
    [InlineData(0.5, 0.0, 3)]
    [InlineData(1.0 / 3, 1.0, 5)]   // the defaults
    public void LinearLR(double start, double end, int total)
    {
        var (o, t) = Sgd(0.1);
        var ours = new LinearLR(o, start, end, total);
        var theirs = Sched.LinearLR(t, start, end, total);
        AssertSameLrs($"LinearLR({start}, {end}, {total})", o, t, ours.Step, theirs.step, 10);
    }

    internal static double[] Momenta(Optimizer o) => o.ParamGroups.Select(g => g.Has("betas") ? g.Pair("betas").Item1 : g.Double("momentum")).ToArray();

    internal static double[] Momenta(TorchOptimizer o) => o.ParamGroups.Select(g => g switch
    {
        torch.optim.IBetas b => b.Betas.Item1,
        torch.optim.IMomentum m => m.Momentum,
        _ => throw new InvalidOperationException($"{g.GetType().Name} has no momentum"),
    }).ToArray();

    [Theory]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void OneCycleLRMovesLrAndMomentum(bool linear, bool threePhase)
    {
        var (o, t) = Sgd(0.1);
        var ours = new OneCycleLR(o, maxLr: 1.0, totalSteps: 20, annealStrategy: linear ? AnnealStrategy.Linear : AnnealStrategy.Cos, threePhase: threePhase);
        var theirs = Sched.OneCycleLR(t, 1.0, total_steps: 20,
            anneal_strategy: linear ? Sched.impl.OneCycleLR.AnnealStrategy.Linear : Sched.impl.OneCycleLR.AnnealStrategy.Cos, three_phase: threePhase);
        AssertSameLrs($"OneCycleLR(linear {linear}, three-phase {threePhase})", o, t, ours.Step, theirs.step, 19, () => Momenta(o), () => Momenta(t));
    }

    [Fact]
    public void OneCycleLRCyclesAdamsBeta1()
    {
        var p = Tensor.Zeros([1], DType.Float64, requiresGrad: true);
        var o = new Adam([p], lr: 1e-3, betas: (0.9, 0.98));
        var t = torch.optim.Adam([new TS.Parameter(torch.zeros(1))], 1e-3, 0.9, 0.98);
        var ours = new OneCycleLR(o, maxLr: 0.01, epochs: 2, stepsPerEpoch: 5, baseMomentum: 0.8, maxMomentum: 0.9);
        var theirs = Sched.OneCycleLR(t, 0.01, epochs: 2, steps_per_epoch: 5, base_momentum: 0.8, max_momentum: 0.9);
        AssertSameLrs("OneCycleLR on Adam", o, t, ours.Step, theirs.step, 9, () => Momenta(o), () => Momenta(t));
        Assert.Equal(((torch.optim.IBetas)t.ParamGroups.First()).Betas.Item2, o.ParamGroups[0].Pair("betas").Item2);
    }

    [Fact]
    public void OneCycleLRRefusesToStepPastTheCycle()
    {
        var (o, t) = Sgd(0.1);
        var ours = new OneCycleLR(o, maxLr: 1.0, totalSteps: 4);
        var theirs = Sched.OneCycleLR(t, 1.0, total_steps: 4);
        AssertSameLrs("OneCycleLR", o, t, ours.Step, theirs.step, 3);
        // PyTorch allows one step past the end (step_num == total_steps, extrapolating the last
        // phase) and raises on the next; TorchSharp sets lr 0 there instead (see DIFFERENCES.md).
        ours.Step();
        theirs.step();
        Assert.ThrowsAny<Exception>(() => theirs.step());
        Assert.Throws<InvalidOperationException>(() => ours.Step());
    }

    public static TheoryData<string, double[]> PlateauCases => new()
    {
        { "patience 2", [1.0, 0.9, 0.9, 0.9, 0.9, 0.85, 0.85, 0.85, 0.85] },
        { "max abs patience 0", [0.5, 0.65, 0.7, 0.85] },
        { "cooldown 2", [1, 1, 1, 1, 1, 1, 1, 1] },
        { "min lr 0.03", [1, 1, 1, 1] },
    };

    [Theory]
    [MemberData(nameof(PlateauCases))]
    public void ReduceLROnPlateau(string name, double[] metrics)
    {
        var (o, t) = Sgd(0.1);
        (ReduceLROnPlateau ours, Sched.LRScheduler theirs) = name switch
        {
            "patience 2" => (new ReduceLROnPlateau(o, patience: 2), Sched.ReduceLROnPlateau(t, patience: 2)),
            "max abs patience 0" => (new ReduceLROnPlateau(o, PlateauMode.Max, patience: 0, threshold: 0.1, thresholdMode: ThresholdMode.Abs),
                Sched.ReduceLROnPlateau(t, "max", patience: 0, threshold: 0.1, threshold_mode: "abs")),
            "cooldown 2" => (new ReduceLROnPlateau(o, patience: 0, cooldown: 2, factor: 0.5), Sched.ReduceLROnPlateau(t, patience: 0, cooldown: 2, factor: 0.5)),
            "min lr 0.03" => (new ReduceLROnPlateau(o, patience: 0, factor: 0.5, minLr: 0.03), Sched.ReduceLROnPlateau(t, patience: 0, factor: 0.5, min_lr: [0.03])),
            _ => throw new ArgumentException(name),
        };
        AssertClose(Lrs(t), Lrs(o), 0, 0, $"{name}: lr at construction");
        for (int i = 0; i < metrics.Length; i++)
        {
            ours.Step(metrics[i]);
            theirs.step(metrics[i]);
            AssertClose(Lrs(t), Lrs(o), Rtol, 0, $"{name}: lr after metric {i} ({metrics[i]})");
        }
    }
}
