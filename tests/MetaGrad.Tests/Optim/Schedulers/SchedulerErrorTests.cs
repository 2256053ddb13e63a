using MetaGrad.Optim;
using static MetaGrad.Tests.Optim.Schedulers.SchedulerTests;

namespace MetaGrad.Tests.Optim.Schedulers;

/// <summary>Bad scheduler arguments get an exception naming the scheduler, the argument and the value.</summary>
public class SchedulerErrorTests
{
    static void Rejects<TException>(Action make, string message) where TException : Exception =>
        Assert.Contains(message, Assert.Throws<TException>(make).Message);

    [Fact]
    public void InvalidArguments_AreRejected()
    {
        Rejects<ArgumentOutOfRangeException>(() => new StepLR(Sgd(0.1), stepSize: 0), "StepLR: stepSize must be a positive number of epochs, got 0");
        Rejects<ArgumentOutOfRangeException>(() => new CosineAnnealingLR(Sgd(0.1), tMax: 0), "CosineAnnealingLR: tMax must be a positive number of epochs, got 0");
        Rejects<ArgumentOutOfRangeException>(() => new CosineAnnealingWarmRestarts(Sgd(0.1), t0: -1), "expected a positive integer T_0, got -1");
        Rejects<ArgumentOutOfRangeException>(() => new CosineAnnealingWarmRestarts(Sgd(0.1), t0: 2, tMult: 0), "expected an integer T_mult >= 1, got 0");
        Rejects<ArgumentOutOfRangeException>(() => new CosineAnnealingWarmRestarts(Sgd(0.1), t0: 2).Step(-1.0), "expected a non-negative epoch, got -1");
        Rejects<ArgumentOutOfRangeException>(() => new LinearLR(Sgd(0.1), startFactor: 0), "LinearLR: startFactor must be in (0, 1], got 0");
        Rejects<ArgumentOutOfRangeException>(() => new LinearLR(Sgd(0.1), endFactor: 1.5), "LinearLR: endFactor must be in [0, 1], got 1.5");
        Rejects<ArgumentOutOfRangeException>(() => new NoamLR(Sgd(1), dModel: 512, warmupSteps: 0), "NoamLR: warmupSteps must be positive, got 0");
        Rejects<ArgumentException>(() => new LambdaLR(Sgd(0.1, 0.2), [e => 1.0]), "LambdaLR: expected 2 lr lambdas (one per param group), got 1");
        Rejects<ArgumentOutOfRangeException>(() => new ReduceLROnPlateau(Sgd(0.1), factor: 1.0), "ReduceLROnPlateau: factor should be < 1.0, got 1");
        Rejects<ArgumentException>(() => new ReduceLROnPlateau(Sgd(0.1), minLrs: [0.1, 0.2]), "expected 1 minLrs (one per param group), got 2");
    }

    [Fact]
    public void OneCycleLR_InvalidArguments_AreRejected()
    {
        Rejects<ArgumentException>(() => new OneCycleLR(Sgd(0.1), 1.0), "OneCycleLR: you must give either totalSteps, or epochs and stepsPerEpoch");
        Rejects<ArgumentOutOfRangeException>(() => new OneCycleLR(Sgd(0.1), 1.0, totalSteps: 0), "OneCycleLR: expected a positive totalSteps, got 0");
        Rejects<ArgumentOutOfRangeException>(() => new OneCycleLR(Sgd(0.1), 1.0, epochs: 3, stepsPerEpoch: -2), "expected a positive stepsPerEpoch, got -2");
        Rejects<ArgumentOutOfRangeException>(() => new OneCycleLR(Sgd(0.1), 1.0, totalSteps: 10, pctStart: 1.5), "OneCycleLR: pctStart must be between 0 and 1, got 1.5");
        Rejects<ArgumentException>(() => new OneCycleLR(Sgd(0.1), [1.0, 2.0], totalSteps: 10), "expected 1 values for maxLr (one per param group), got 2");
        var adagrad = new Adagrad([Tensor.Zeros([1], requiresGrad: true)]);
        Rejects<ArgumentException>(() => new OneCycleLR(adagrad, 1.0, totalSteps: 10), "OneCycleLR: Adagrad has neither momentum nor betas to cycle; pass cycleMomentum: false");
        _ = new OneCycleLR(adagrad, 1.0, totalSteps: 10, cycleMomentum: false);
    }

    [Fact]
    public void Resuming_WithoutInitialLr_Explains()
    {
        Rejects<ArgumentException>(() => new StepLR(Sgd(0.1), stepSize: 2, lastEpoch: 5),
            "StepLR: param group 0 has no 'initial_lr', which resuming with lastEpoch 5 needs");
    }

    [Fact]
    public void LoadStateDict_ForAnotherNumberOfGroups_Explains()
    {
        var saved = new ExponentialLR(Sgd(0.1, 0.2), 0.5).StateDict();
        Rejects<ArgumentException>(() => new ExponentialLR(Sgd(0.1), 0.5).LoadStateDict(saved),
            "ExponentialLR.LoadStateDict: the state dict has 2 base lrs and 2 last lrs, but the optimizer has 1 param groups");
        var warm = new CosineAnnealingWarmRestarts(Sgd(0.1), t0: 2);
        var noPeriod = warm.StateDict();
        noPeriod.Values.Remove("T_i");
        Rejects<ArgumentException>(() => warm.LoadStateDict(noPeriod), "CosineAnnealingWarmRestarts.LoadStateDict: the state dict has no 'T_i'");
    }
}
