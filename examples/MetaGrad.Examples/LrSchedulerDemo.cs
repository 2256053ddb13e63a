using System.CommandLine;
using System.Globalization;
using MetaGrad.Optim;

namespace MetaGrad.Examples;

/// <summary>
/// The learning rate that each scheduler gives, epoch by epoch, all starting from lr 0.1: a table
/// to read the schedules from, one column per scheduler.
/// </summary>
public static class LrSchedulerDemo
{
    public static Command Command()
    {
        var epochs = new Option<int>("--epochs") { Description = "Epochs to show", DefaultValueFactory = _ => 20 };
        var command = new Command("lr-scheduler", "Print the learning rates of several schedulers side by side") { epochs };
        command.SetAction(parse => Run(parse.GetValue(epochs)));
        return command;
    }

    public static void Run(int epochs)
    {
        var schedules = Schedules(epochs);
        const int width = 13;
        Console.WriteLine("epoch" + string.Concat(schedules.Select(s => s.Name.PadLeft(width))));
        for (int epoch = 0; epoch < epochs; epoch++)
            Console.WriteLine($"{epoch,5}" + string.Concat(schedules.Select(s => s.Lrs[epoch].ToString("0.000000", CultureInfo.InvariantCulture).PadLeft(width))));
    }

    /// <summary>Each scheduler's lr during epochs 0 .. epochs-1 (what the optimizer steps with), base lr 0.1.</summary>
    public static IReadOnlyList<(string Name, double[] Lrs)> Schedules(int epochs)
    {
        var makers = new (string Name, Func<Optimizer, LRScheduler> Make)[]
        {
            ("StepLR", o => new StepLR(o, stepSize: 5, gamma: 0.5)),
            ("MultiStep", o => new MultiStepLR(o, milestones: [8, 14], gamma: 0.1)),
            ("Exponential", o => new ExponentialLR(o, gamma: 0.85)),
            ("Cosine", o => new CosineAnnealingLR(o, tMax: epochs, etaMin: 0.001)),
            ("WarmRestart", o => new CosineAnnealingWarmRestarts(o, t0: 5, tMult: 2)),
            ("LinearWarmup", o => new LinearLR(o, startFactor: 0.1, totalIters: 5)),
            ("OneCycle", o => new OneCycleLR(o, maxLr: 0.1, totalSteps: epochs)),
            ("Noam", o => new NoamLR(o, dModel: 64, warmupSteps: 5)),
        };
        return makers.Select(m => (m.Name, Run(m.Make, epochs))).ToArray();
    }

    static double[] Run(Func<Optimizer, LRScheduler> make, int epochs)
    {
        var optimizer = new SGD([Tensor.Zeros([1], requiresGrad: true)], lr: 0.1);
        var scheduler = make(optimizer);
        var lrs = new double[epochs];
        for (int epoch = 0; epoch < epochs; epoch++)
        {
            lrs[epoch] = optimizer.ParamGroups[0].Lr;
            optimizer.Step();      // a real loop trains the epoch here, then steps the schedule
            scheduler.Step();
        }
        return lrs;
    }
}
