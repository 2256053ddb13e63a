using MetaGrad.IO;
using MetaGrad.NN;
using MetaGrad.Optim;

namespace MetaGrad.Tests.IO;

public class TrainingCheckpointTests
{
    static int[] Bits(Tensor t) => t.ToArray<float>().Select(BitConverter.SingleToInt32Bits).ToArray();

    // A few steps of a tiny regression, with dropout drawing from the generator, so every piece of state matters.
    static void Train(Linear model, Optimizer optimizer, LRScheduler scheduler, Generator generator, int steps)
    {
        var x = Tensor.Randn([8, 3], generator: new Generator(1));
        var y = Tensor.Randn([8, 2], generator: new Generator(2));
        for (int i = 0; i < steps; i++)
        {
            var loss = Losses.MseLoss(Functional.Dropout(model.Forward(x), 0.3, generator: generator), y);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            scheduler.Step();
        }
    }

    [Fact]
    public void SavedAndResumed_ContinuesBitForBit()
    {
        using var dir = new TempFolder();
        var path = dir.File("run.safetensors");
        (Linear, Adam, StepLR, Generator) Build()
        {
            var generator = new Generator(5);
            var model = new Linear(3, 2, generator: generator);
            var adam = new Adam(model.Parameters(), lr: 0.05, amsgrad: true);
            return (model, adam, new StepLR(adam, stepSize: 2, gamma: 0.5), generator);
        }

        var (straight, straightAdam, straightSchedule, straightRng) = Build();
        Train(straight, straightAdam, straightSchedule, straightRng, 6);

        var (first, firstAdam, firstSchedule, firstRng) = Build();
        Train(first, firstAdam, firstSchedule, firstRng, 3);
        new Checkpoint()
            .Add("model", first.StateDict())
            .AddOptimizer("optim", firstAdam.StateDict())
            .AddScheduler("scheduler", firstSchedule.StateDict())
            .AddGenerator("rng", firstRng)
            .Save(path);

        var (resumed, resumedAdam, resumedSchedule, resumedRng) = Build();
        var saved = Checkpoint.Load(path);
        resumed.LoadStateDict(saved.Section("model"));
        resumedAdam.LoadStateDict(saved.OptimizerState("optim"));
        resumedSchedule.LoadStateDict(saved.SchedulerState("scheduler"));
        saved.RestoreGenerator("rng", resumedRng);
        Train(resumed, resumedAdam, resumedSchedule, resumedRng, 3);

        Assert.Equal(Bits(straight.Weight), Bits(resumed.Weight));
        Assert.Equal(Bits(straight.Bias!), Bits(resumed.Bias!));
        Assert.Equal(straightAdam.ParamGroups[0].Lr, resumedAdam.ParamGroups[0].Lr);
        Assert.Equal(straightRng.NextUInt64(), resumedRng.NextUInt64());
    }

    [Fact]
    public void OptimizerOptions_ComeBackWithTheirKinds()
    {
        var p = Tensor.Zeros([2], requiresGrad: true);
        var adam = new Adam([p], lr: 0.1 + 0.2, betas: (0.8, 0.95), amsgrad: true);
        var checkpoint = new Checkpoint().AddOptimizer("optim", adam.StateDict());
        var options = checkpoint.OptimizerState("optim").ParamGroups[0].Options;
        Assert.Equal(0.1 + 0.2, options["lr"]);
        Assert.Equal(true, options["amsgrad"]);
        Assert.Equal([0.8, 0.95], (double[])options["betas"]);
    }

    [Fact]
    public void PlateauSchedulersInfiniteBest_SurvivesTheJson()
    {
        var sgd = new SGD([Tensor.Zeros([1], requiresGrad: true)], lr: 0.1);
        var plateau = new ReduceLROnPlateau(sgd);
        var checkpoint = new Checkpoint().AddScheduler("scheduler", plateau.StateDict());
        Assert.Equal(double.PositiveInfinity, checkpoint.SchedulerState("scheduler").Values["best"]);
    }

    [Fact]
    public void MissingOrForeignEntries_AreExplained()
    {
        var checkpoint = new Checkpoint();
        Assert.Contains("\"optim.param_groups\"", Assert.Throws<KeyNotFoundException>(() => checkpoint.OptimizerState("optim")).Message);
        checkpoint.Metadata["optim.param_groups"] = """[{"Params":[0],"Options":{"lr":{"x":1}}}]""";
        Assert.Contains("option \"lr\"", Assert.Throws<InvalidDataException>(() => checkpoint.OptimizerState("optim")).Message);
        checkpoint.Metadata["rng"] = "[1, 2]";
        Assert.Contains("6 values", Assert.Throws<ArgumentException>(() => checkpoint.RestoreGenerator("rng", new Generator(0))).Message);
    }

    [Theory]
    [InlineData("[null]")]
    [InlineData("[{\"Params\":null,\"Options\":{}}]")]
    [InlineData("[{\"Params\":[0],\"Options\":{\"lr\":\"fast\"}}]")]
    [InlineData("null")]
    public void OptimizerState_OfGroupsWithNullsOrBadOptions_IsInvalidData(string groups)
    {
        // Found by the fuzzer: a null went on to a NullReferenceException inside Optimizer.LoadStateDict.
        var checkpoint = new Checkpoint();
        checkpoint.Metadata["optim.param_groups"] = groups;
        Assert.Throws<InvalidDataException>(() => checkpoint.OptimizerState("optim"));
    }

    [Theory]
    [InlineData("{\"BaseLrs\":null,\"LastLr\":[0.1],\"Values\":{}}")]
    [InlineData("{\"LastEpoch\":\"x\"}")]
    public void SchedulerState_WithNullsOrWrongTypes_IsInvalidData(string json)
    {
        var checkpoint = new Checkpoint();
        checkpoint.Metadata["scheduler"] = json;
        Assert.Throws<InvalidDataException>(() => checkpoint.SchedulerState("scheduler"));
    }
}
