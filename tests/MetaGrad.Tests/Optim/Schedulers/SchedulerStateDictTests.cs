using MetaGrad.Optim;

namespace MetaGrad.Tests.Optim.Schedulers;

/// <summary>
/// A run interrupted after 7 steps and resumed from the optimizer's and the scheduler's state dicts
/// (into a new optimizer and scheduler) continues exactly as if it had never stopped.
/// </summary>
public class SchedulerStateDictTests
{
    public static TheoryData<string> Names => new(["StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR", "WarmRestarts", "OneCycleLR-SGD", "OneCycleLR-Adam", "LinearLR", "NoamLR"]);

    static (Optimizer, LRScheduler, Tensor) Build(string name)
    {
        var p = Tensor.From(new float[] { 1, -2, 3 }, [3], requiresGrad: true);
        Optimizer optimizer = name == "OneCycleLR-Adam" ? new Adam([p], lr: 0.01) : new SGD([p], lr: 0.1, momentum: 0.9);
        LRScheduler scheduler = name switch
        {
            "StepLR" => new StepLR(optimizer, stepSize: 3, gamma: 0.5),
            "MultiStepLR" => new MultiStepLR(optimizer, [4, 8, 11]),
            "ExponentialLR" => new ExponentialLR(optimizer, 0.9),
            "CosineAnnealingLR" => new CosineAnnealingLR(optimizer, tMax: 6, etaMin: 0.001),
            "WarmRestarts" => new CosineAnnealingWarmRestarts(optimizer, t0: 2, tMult: 2, etaMin: 0.001),
            "OneCycleLR-SGD" or "OneCycleLR-Adam" => new OneCycleLR(optimizer, 0.5, totalSteps: 15, threePhase: true),
            "LinearLR" => new LinearLR(optimizer, 0.1, 1.0, totalIters: 10),
            "NoamLR" => new NoamLR(optimizer, dModel: 8, warmupSteps: 4),
            _ => throw new ArgumentException(name),
        };
        return (optimizer, scheduler, p);
    }

    static List<double> Train(Optimizer optimizer, LRScheduler scheduler, Tensor p, int from, int to)
    {
        var lrs = new List<double>();
        for (int t = from; t <= to; t++)
        {
            OptimizerCases.SetGradient(p, t);
            optimizer.Step();
            scheduler.Step();
            lrs.Add(optimizer.ParamGroups[0].Lr);
        }
        return lrs;
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void Resumed_EqualsUninterrupted(string name)
    {
        var (straightOpt, straightSched, straightP) = Build(name);
        var straightLrs = Train(straightOpt, straightSched, straightP, 1, 14);

        var (opt, sched, p) = Build(name);
        Train(opt, sched, p, 1, 7);
        var (optimizerState, schedulerState, weights) = (opt.StateDict(), sched.StateDict(), p.ToArray<float>());

        var (opt2, sched2, p2) = Build(name);
        using (Autograd.NoGrad()) p2.Copy_(Tensor.From(weights, [3]));
        opt2.LoadStateDict(optimizerState);
        sched2.LoadStateDict(schedulerState);
        Assert.Equal(sched.GetLastLr(), sched2.GetLastLr());
        var resumedLrs = Train(opt2, sched2, p2, 8, 14);

        Assert.Equal(straightLrs.Skip(7), resumedLrs);
        Assert.Equal(straightP.ToArray<float>(), p2.ToArray<float>());
        Assert.Equal(straightOpt.ParamGroups[0].Options, opt2.ParamGroups[0].Options);
    }
}
