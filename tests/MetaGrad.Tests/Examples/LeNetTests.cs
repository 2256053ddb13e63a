using MetaGrad.Examples;

namespace MetaGrad.Tests.Examples;

/// <summary>The LeNet-5 example: it learns real digits, its state dict is PyTorch's, and the command draws its pictures.</summary>
public class LeNetTests
{
    static readonly Lazy<MnistData> Subset = new(() => MnistData.Load(trainCount: 2000, testCount: 1000));

    [Fact]
    public void TwoEpochs_OnAQuarterOfTheDigits_LossFallsAndAccuracyPasses85Percent()
    {
        var trainer = new MnistTrainer(Subset.Value, new MnistSettings { Model = "lenet" });
        var first = trainer.TrainEpoch();
        var result = trainer.TrainEpoch();
        Assert.True(result.TrainLoss < first.TrainLoss, $"train loss {first.TrainLoss} then {result.TrainLoss}");
        Assert.True(result.TestAccuracy > 0.85, $"test accuracy {result.TestAccuracy}");   // chance is 0.1
    }

    [Fact]
    public void StateDict_HasPyTorchsNamesAndShapes_AndLoadsStrictly()
    {
        var model = new LeNet(new Generator(1));
        var state = model.StateDict();
        Assert.Equal(["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias", "fc3.weight", "fc3.bias"], state.Keys);
        Assert.Equal([6, 1, 5, 5], state["conv1.weight"].Shape.ToArray());
        Assert.Equal([16, 6, 5, 5], state["conv2.weight"].Shape.ToArray());
        Assert.Equal([120, 400], state["fc1.weight"].Shape.ToArray());
        var other = new LeNet(new Generator(2));
        other.LoadStateDict(state);
        var x = Subset.Value.TestImages[..4];
        Assert.True(other.Forward(x).AllClose(model.Forward(x)));
    }

    [Fact]
    public void Command_WritesFiltersAndMisclassifiedDigits()
    {
        using var dir = new TempFolder();
        var data = new MnistData(Subset.Value.TrainImages[..256], Subset.Value.TrainLabels[..256], Subset.Value.TestImages[..200], Subset.Value.TestLabels[..200]);
        var options = new MnistExample.RunOptions(Epochs: 1, new MnistSettings { Model = "lenet" }, Data: null, Out: dir.Path, Resume: false, ProgressStyle.None);
        Assert.Equal(0, MnistExample.Run(options, data));
        foreach (var picture in new[] { "filters.png", "misclassified.png" })
        {
            var png = File.ReadAllBytes(dir.File(picture));
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, png[..4]);
        }
        // A checkpoint of the MLP cannot be resumed as LeNet.
        var mlp = options with { Settings = new MnistSettings(), Epochs = 2, Resume = true };
        Assert.Equal(1, MnistExample.Run(mlp, data));
    }
}
