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

/// <summary>The ResNet example: torchvision's names, a step that learns, augmentation that moves digits without losing them.</summary>
public class ResNetTests
{
    [Fact]
    public void StateDict_HasTorchvisionsBlockNames()
    {
        var keys = new MnistResNet(new Generator(1)).StateDict().Keys.ToList();
        Assert.Contains("layer1.conv1.weight", keys);
        Assert.Contains("layer2.downsample.0.weight", keys);
        Assert.Contains("layer2.downsample.1.running_var", keys);
        Assert.Contains("layer3.bn2.num_batches_tracked", keys);
        Assert.Contains("fc.bias", keys);
        Assert.DoesNotContain(keys, k => k.StartsWith("layer1.downsample", StringComparison.Ordinal));   // same size: identity shortcut
    }

    [Fact]
    public void TrainingSteps_LowerTheLossOnABatch()
    {
        var data = MnistTests.SmallData(64, 10);
        var model = new MnistResNet(new Generator(2));
        var optimizer = new MetaGrad.Optim.Adam(model.Parameters(), 3e-3);
        double first = 0, last = 0;
        for (int step = 0; step < 8; step++)
        {
            var loss = MetaGrad.NN.Losses.CrossEntropy(model.Forward(data.TrainImages), data.TrainLabels);
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
            if (step == 0) first = loss.Item<float>();
            last = loss.Item<float>();
        }
        Assert.True(last < first * 0.7, $"loss {first} then {last}");
    }

    [Fact]
    public void Augmentation_MovesDigitsButKeepsTheirInk()
    {
        var images = MnistTests.SmallData(16, 1).TrainImages;
        var moved = DigitAugmentation.Apply(images, new Generator(3));
        Assert.Equal(images.Shape.ToArray(), moved.Shape.ToArray());
        Assert.False(moved.AllClose(images));
        // A shift of at most 2.5 pixels and a turn of at most 12° keep nearly all of a centred digit's ink.
        double before = (images - images.Min()).Sum().Item<float>(), after = (moved - images.Min()).Sum().Item<float>();
        Assert.InRange(after / before, 0.9, 1.1);
        // The same generator state gives the same batch (a resumed run draws the same transforms).
        Assert.True(DigitAugmentation.Apply(images, new Generator(3)).AllClose(moved));
    }
}
